"""Cross-lingual ranking check (issue 17): the product's full ranking in three directions, each as the ratio of
strict MRR and nDCG@10 to the same needs on English documents.

  EN->JA  the 30 sbir-bench-ja needs (English, full text; and titles only) on the documents with their 48
          strict-relevant documents replaced by Japanese renderings  /  the same needs on the English documents
  JA->EN  the 40 Japanese need titles (bench/data/needs_ja_titles.jsonl) on the English documents
          /  the same needs' English titles on the English documents
  JA->JA  the Japanese titles on the Japanese-rendered documents, scored on the needs of both sets
          /  their English titles on the English documents

  EN->EN  (what a change does to English) every dev need, full text, on the English documents, as `scout
          eval` ranks them: each variant against the first

Every direction is ranked with each of `--variants` (weight overrides) on the same indexed needs: by default
without the multilingual channel (`multilingual=0`, the ranking before issue 27) and with it (the defaults).
`--english-once`: the English sides (English needs on English documents, the ratios' denominators) are ranked
with the first variant only, which is right for variants that differ in the multilingual channel alone (it
takes no part in an English pair).

Only needs with strict judgements are scored. Each need set is indexed alone beside the 7,795 documents (as `scout eval` on a build.py directory would),
ranked with a fresh Ranker, then removed. `crowding` counts Japanese documents in a need's top 10 that are
not relevant to it (a ranking that favours Japanese text would look good on EN->JA without matching); on the
English documents it counts the same documents' originals, the share they earn in English.

The document index is built once in --work (reused; --rebuild to redo it); the 48 renderings are swapped in
and out of it on every run, so a change to Japanese enrichment needs no rebuild. Nothing is read from or written
to the home's embedding cache: the int8 encoder's vectors depend on which texts share a run, so cached vectors
another command computed (or an earlier run, before a renderer change) would move the figures. The build embeds
into a temporary cache of its own, and every run into a fresh one, so two runs of the same code on the same
index give the same figures, whether or not the first built it.

    SCOUT_HOME=var/home PYTHONPATH=$PWD nice -n 5 python bench/crosslingual_ranking.py [--set key=value ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.shared_data import SBIR_BENCH, SBIR_BENCH_JA, existing  # noqa: E402

from index.evaluate import _read_jsonl, bench_document, load_bench, metrics, _mean  # noqa: E402
from index.ranking import Ranker, RankWeights  # noqa: E402
from index.store import Index  # noqa: E402
from index.suppliers import KnownSuppliers  # noqa: E402
from domain.models import DocKind  # noqa: E402
from domain.settings import IndexSettings  # noqa: E402

HERE = Path(__file__).resolve().parent
DEPTH = 100


def parse_weights(pairs: list[str]) -> tuple[RankWeights, dict]:
    fields = {f.name for f in dataclasses.fields(RankWeights)}
    overrides = {}
    for kv in pairs:
        k, v = kv.split("=", 1)
        if k not in fields:
            raise SystemExit(f"unknown weight {k!r}; one of {sorted(fields)}")
        default = getattr(RankWeights(), k)
        overrides[k] = v if isinstance(default, str) else float(v) if default is None else type(default)(v)
    return RankWeights(**overrides), overrides


def ja_ids_of(bench_ja: Path) -> list[str]:
    return json.loads((bench_ja / "selection.json").read_text())["docs"]


def progress(stage: str, done: int, total: int) -> None:
    print(f"\r{stage} {done}/{total}   ", end="", file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=existing, default=str(SBIR_BENCH))
    ap.add_argument("--bench-ja", type=existing, default=str(SBIR_BENCH_JA))
    ap.add_argument("--titles", type=Path, default=HERE / "data/needs_ja_titles.jsonl")
    ap.add_argument("--work", type=Path, default=Path("var/bench-crosslingual"))
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--docs", type=int, default=0,
                    help="distractors: a fixed random sample of this many other documents (0: all 7,795)")
    ap.add_argument("--set", action="append", default=[], help="RankWeights override, e.g. hubness=0.3")
    ap.add_argument("--variants", nargs="+", default=["multilingual=0", ""],
                    help="weight variants ranked on the same indexed needs, each comma-separated key=value "
                         "overrides on top of --set (\"\": --set alone); default: without the multilingual "
                         "channel (today's ranking before it), and with it")
    ap.add_argument("--directions", nargs="+", default=["en-ja", "ja-en", "ja-ja", "en-en"],
                    help="en-en: every dev need (full text) on the English documents, as `scout eval` ranks them "
                         "(what a change does to English)")
    ap.add_argument("--english-once", action="store_true",
                    help="rank the English sides (English needs on English documents) with the first variant only "
                         "and use it for every variant: right when the variants differ only where the multilingual "
                         "channel serves (a Japanese side), as tests/index/test_multilingual_channel.py checks")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--without", nargs="*", default=[], choices=["senses", "katakana", "script-norm", "ja-vectors"],
                    help="switch levers off to measure what each is worth")
    args = ap.parse_args()
    if "senses" in args.without:  # the dictionary's first gloss, always
        import nlp.translate

        nlp.translate.SENSE_MARGIN = float("inf")
    if "katakana" in args.without:
        import nlp.translate

        nlp.translate.TermTranslator.__init__.__defaults__ = (True, False)
    if "ja-vectors" in args.without:  # Japanese passages embedded as Japanese text
        os.environ["SCOUT_NLP_JA_VECTORS"] = "text"
    if "script-norm" in args.without:  # one length normalisation over both scripts
        import nlp.lexical

        nlp.lexical._by_script = lambda terms: [terms] if terms else []

    from nlp.pipeline import Enricher

    _, overrides = parse_weights(args.set)
    variants = {v or "default": parse_weights(args.set + [kv for kv in v.split(",") if kv])[0]
                for v in args.variants}
    scratch = tempfile.TemporaryDirectory(prefix="crosslingual-cache-")
    enricher = Enricher(cache_path=Path(scratch.name) / "embeddings.sqlite")
    bench = load_bench(args.bench)
    if args.docs:
        import random

        wanted = set().union(*bench.qrels.values()) | set(ja_ids_of(args.bench_ja))
        others = [d for d in bench.docs if d.meta["bench_id"] not in wanted]
        random.Random(0).shuffle(others)
        bench.docs = [d for d in bench.docs if d.meta["bench_id"] in wanted] + others[: args.docs]
        args.work = args.work.with_name(f"{args.work.name}-{args.docs}")
    selection = json.loads((args.bench_ja / "selection.json").read_text())
    ja_rows = {r["id"]: r for r in _read_jsonl(args.bench_ja / "ja_docs.jsonl")}
    titles = _read_jsonl(args.titles)
    need_rows = {r["id"]: r for r in _read_jsonl(args.bench / "needs.jsonl")}
    doc_rows = {r["id"]: r for r in _read_jsonl(args.bench / "docs.jsonl")}
    en_docs = [bench_document(doc_rows[i], DocKind.research) for i in ja_rows]
    ja_docs = [bench_document({**doc_rows[i], "title": r["title"], "text": r["text"]}, DocKind.research)
               for i, r in ja_rows.items()]
    ja_ids = {d.id for d in ja_docs}

    def need_set(ids: list[str], text: str, ja_titles: bool = False) -> list:
        out = []
        by_id = {t["id"]: t for t in titles}
        for i in ids:
            row = dict(need_rows[i])
            if ja_titles:
                row["title"] = by_id[i]["title_ja"]
            if text == "title":
                row["text"] = row["title"]
            out.append(bench_document(row, DocKind.need))
        return out

    selected = list(selection["needs"])
    title_ids = [t["id"] for t in titles]
    both = [i for i in title_ids if i in set(selected)]

    path = args.work / "index"
    stamp = args.work / "built.json"
    t0 = time.time()
    if args.rebuild or not stamp.exists():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        stamp.unlink(missing_ok=True)
    results: dict[str, dict] = {}
    with Index(IndexSettings(backend="edge", path=path), dim=384, command="bench/crosslingual_ranking.py") as index:
        if not stamp.exists():
            docs = bench.docs
            # its own cache: the runs' vectors must not depend on whether this run built the index
            builder = Enricher(cache_path=Path(scratch.name) / "build-embeddings.sqlite")
            for i in range(0, len(docs), 256):
                enriched, _ = builder.enrich(docs[i:i + 256])
                index.upsert(enriched, flush=False)
                progress("index documents", min(i + 256, len(docs)), len(docs))
            del builder
            index.optimize()
            args.work.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps({"docs": len(docs)}))
            print(file=sys.stderr)
        # A run killed with the renderings swapped in leaves them there: start from the English originals.
        index.delete(list(ja_ids))
        index.upsert(enricher.enrich(en_docs)[0])
        t1 = time.time()
        ja_enriched, rejected = enricher.enrich(ja_docs)
        if rejected:
            raise SystemExit(f"renderings rejected: {rejected}")

        def run(label: str, needs: list, japanese_docs: bool, scored: list[str], english: bool = False,
                ) -> dict[str, dict]:
            """variant -> figures of the needs `scored`, the needs indexed once for every variant (`english`: an
            English side, ranked once with --english-once)."""
            if japanese_docs:
                index.delete(list(ja_ids))
                index.upsert(ja_enriched)
            enriched, _ = enricher.enrich(needs)
            index.upsert(enriched)
            try:
                by_bench = {d.meta["bench_id"]: d for d in needs}
                ids = {d.id: d.meta["bench_id"] for d in [*bench.docs, *needs]}
                found: dict[str, dict] = {}
                for name, weights in variants.items():
                    if english and args.english_once and found:
                        found[name] = next(iter(found.values()))
                        continue
                    ranker = Ranker(index, enricher, KnownSuppliers(), weights=weights)
                    rows, crowd, per_need = [], 0, {}
                    for n, nid in enumerate(scored, 1):
                        need = by_bench[nid]
                        _, q = ranker.need_input(need.id)
                        ranked = ranker.rank(q, None, DEPTH + len(bench.anchors.get(nid, ())))
                        ranking = [ids.get(r.doc_id, r.doc_id) for r in ranked]
                        drop = bench.anchors.get(nid, set())
                        strict = [d for d in ranking if d not in drop]
                        rows.append(metrics(strict, bench.strict[nid]))
                        # counted on the English originals too: those documents' own share of other needs' top 10
                        crowding = [ids[r.doc_id] for r in ranked[:10] if r.doc_id in ja_ids
                                    and ids[r.doc_id] not in bench.qrels.get(nid, set())]
                        crowd += len(crowding)
                        per_need[nid] = {"mrr": rows[-1]["mrr"], "ndcg@10": rows[-1]["ndcg@10"], "crowding": crowding}
                        progress(f"{label} [{name}]", n, len(scored))
                    print(file=sys.stderr)
                    out = _mean(rows)
                    out["needs"] = len(rows)
                    out["crowding"] = crowd
                    out["per_need"] = per_need  # for finding which needs a change moves (--json)
                    found[name] = out
                return found
            finally:
                index.delete([d.id for d in needs])
                if japanese_docs:
                    index.delete(list(ja_ids))
                    index.upsert(enricher.enrich(en_docs)[0])

        strict_sel = [i for i in selected if bench.strict.get(i)]
        strict_titles = [i for i in title_ids if bench.strict.get(i)]
        strict_both = [i for i in both if bench.strict.get(i)]
        if "en-ja" in args.directions:
            for text in ("full", "title"):
                ns = need_set(selected, text)
                results[f"en-ja/{text}"] = {"en": run(f"EN {text} -> EN", ns, False, strict_sel, True),
                                            "other": run(f"EN {text} -> JA", ns, True, strict_sel)}
        if "ja-en" in args.directions or "ja-ja" in args.directions:
            en_titles, ja_titles = need_set(title_ids, "title"), need_set(title_ids, "title", ja_titles=True)
            if "ja-en" in args.directions:
                results["ja-en/title"] = {"en": run("EN title -> EN", en_titles, False, strict_titles, True),
                                          "other": run("JA title -> EN", ja_titles, False, strict_titles)}
            if "ja-ja" in args.directions:
                results["ja-ja/title"] = {"en": run("EN title -> EN (18)", en_titles, False, strict_both, True),
                                          "other": run("JA title -> JA (18)", ja_titles, True, strict_both)}
        if "en-en" in args.directions:  # no other side: each variant against the first one
            every = [n.meta["bench_id"] for n in bench.needs if bench.strict.get(n.meta["bench_id"])]
            english = run("EN full -> EN (all dev needs)", bench.needs, False, every)
            first = next(iter(variants))
            results["en-en/full"] = {"en": {v: english[first] for v in variants}, "other": english}
    t2 = time.time()
    print(f"documents {len(bench.docs)}; index {t1 - t0:.0f} s, ranking {t2 - t1:.0f} s; "
          f"weights {overrides or 'default'}; levers off: {args.without or 'none'}")
    table: dict[str, dict] = {}
    for variant in variants:
        print(f"\nvariant: {variant}")
        print(f"{'direction':<14} {'needs':>5} {'MRR en':>7} {'MRR x':>7} {'ratio':>6} {'nDCG en':>8} {'nDCG x':>7} "
              f"{'ratio':>6} {'crowd':>6} {'(en)':>5}")
        for name, r in results.items():
            en, other = r["en"][variant], r["other"][variant]
            row = {"en": en, "other": other,
                   "mrr_ratio": other["mrr"] / en["mrr"] if en["mrr"] else 0.0,
                   "ndcg_ratio": other["ndcg@10"] / en["ndcg@10"] if en["ndcg@10"] else 0.0}
            table.setdefault(variant, {})[name] = row
            print(f"{name:<14} {en['needs']:>5} {en['mrr']:7.3f} {other['mrr']:7.3f} {row['mrr_ratio']:6.2f} "
                  f"{en['ndcg@10']:8.3f} {other['ndcg@10']:7.3f} {row['ndcg_ratio']:6.2f} {other['crowding']:>6} "
                  f"{en['crowding']:>5}")
    if args.json:
        args.json.write_text(json.dumps({"weights": overrides, "without": args.without, "results": table},
                                        indent=1))


if __name__ == "__main__":
    main()
