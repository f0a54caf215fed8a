"""Technology entities against public gold standards (issue 26), printed as tables from one run:

  1. per gold set and language: exact and overlap P/R/F1 of what `Enricher.analyse_text()` offers as
     technology entities (every entity but ORG; labels ignored: span identification), next to the plain
     baselines (English: every maximal run of non-stop-words; Japanese: every run of >= 2 kanji/katakana/Latin);
  2. per gold label: exact recall of that label's spans, and typed exact P/R/F1 where the extractor's type
     maps onto the label (METHOD->Method/Process, MATERIAL->Material, TASK->Task, METRIC->Metric,
     TERM->OtherScientificTerm; in Japanese every type but GENERIC -> TERM/OBJECT);
  3. the ingest cost of extraction per document (CPU ms of `analyse_text`, given the encoder's token states of
     the passages as the ingest hands them over) next to the encoder's (the passages of the same document
     through the embedding model).

Develop on `--split dev` (the default); `--split test` is the acceptance run: never tune on it.
The gold data is not in the repository: bench/entity_gold.py says where each set comes from and how to lay it
out (`--gold DIR` or SCOUT_ENTITY_GOLD).

Usage: PYTHONPATH=. python bench/entities.py [--split dev|test] [--gold DIR] [--sets SciERC,ScienceIE,RANIS]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.entity_gold import LOADERS, GoldDoc, load  # noqa: E402
from domain.settings import NlpSettings  # noqa: E402

# Which extractor type stands for which gold label (typed scores).
TYPE_TO_GOLD = {
    "SciERC": {"METHOD": "Method", "MATERIAL": "Material", "TASK": "Task", "METRIC": "Metric",
               "TERM": "OtherScientificTerm"},
    "ScienceIE": {"METHOD": "Process", "MATERIAL": "Material", "TASK": "Task"},
    "RANIS": {},  # RANIS types are not technology types: TERM/OBJECT identification only
}

_EN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")
_JA_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u30a0-\u30ffA-Za-z]{2,}")


def baseline(doc: GoldDoc) -> set[tuple[int, int]]:
    if doc.language == "ja":
        return {(m.start(), m.end()) for m in _JA_RUN.finditer(doc.text)}
    from spacy.lang.en.stop_words import STOP_WORDS

    out, run = set(), []
    words = list(_EN_WORD.finditer(doc.text))
    for i, m in enumerate(words):
        joined = run and doc.text[run[-1].end():m.start()].strip() == ""
        if m.group().lower() in STOP_WORDS or not joined:
            if run:
                out.add((run[0].start(), run[-1].end()))
            run = []
        if m.group().lower() not in STOP_WORDS:
            run.append(m)
    if run:
        out.add((run[0].start(), run[-1].end()))
    return out


def prf(tp_p: int, n_pred: int, tp_g: int, n_gold: int) -> tuple[float, float, float]:
    p = tp_p / n_pred if n_pred else 0.0
    r = tp_g / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def span_scores(pairs: list[tuple[set[tuple[int, int]], set[tuple[int, int]]]]) -> dict[str, tuple]:
    """Exact and overlap P/R/F1 over documents of (predicted spans, gold spans)."""
    n_pred = n_gold = exact = ov_pred = ov_gold = 0
    for pred, gold in pairs:
        n_pred += len(pred)
        n_gold += len(gold)
        exact += len(pred & gold)
        ov_pred += sum(1 for a, b in pred if any(a < d and c < b for c, d in gold))
        ov_gold += sum(1 for c, d in gold if any(a < d and c < b for a, b in pred))
    return {"exact": prf(exact, n_pred, exact, n_gold), "overlap": prf(ov_pred, n_pred, ov_gold, n_gold)}


def extract(enricher, doc: GoldDoc, pieces=None) -> list[tuple[int, int, str]]:
    """(start, end, type) of every entity but ORG; a taxonomy match (TECH) inside a typed term is that term's
    concept, not a second entity; one outside any counts as METHOD. `pieces`: the encoder's token states of the
    text (Enricher.text_pieces), as the ingest hands them over from the passages' embedding."""
    found = enricher.analyse_text(doc.text, doc.language, pieces)
    typed = [(e.start, e.end, str(e.label)) for e in found.entities if str(e.label) not in ("ORG", "TECH")]
    tech = [(e.start, e.end, "METHOD") for e in found.entities if str(e.label) == "TECH"
            and not any(a <= e.start and e.end <= b for a, b, _ in typed)]
    return typed + tech


def fmt(t: tuple[float, float, float]) -> str:
    return f"{t[0]:.2f} / {t[1]:.2f} / {t[2]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="dev", choices=["train", "dev", "test"])
    ap.add_argument("--gold", default=None)
    ap.add_argument("--sets", default=",".join(LOADERS))
    ap.add_argument("--rules", action="store_true", help="score the rule keyphrases (typed entities off)")
    ap.add_argument("--no-cost", action="store_true", help="skip the encoder cost (no embedding model load)")
    ap.add_argument("--demo-docs", type=int, default=120,
                    help="demo documents for the enrich-stage cost with and without typed entities (0: skip)")
    ap.add_argument("--demo-only", action="store_true", help="only the enrich-stage cost on the demo corpus")
    ap.add_argument("--models", default=None, metavar="DIR[,DIR...]",
                    help="enrich cost: typed entities with the models of each of these models folders (each holding "
                         "entities/ and the encoder export, like $SCOUT_HOME/models), alternated with the rules in one "
                         "run (default: the configured models folder)")
    ap.add_argument("--repeat", type=int, default=2, help="enrich cost: runs of each, alternated (the best counts)")
    args = ap.parse_args()
    models = [Path(m) for m in args.models.split(",")] if args.models else None
    if args.demo_only:
        enrich_cost(args.demo_docs, models, args.repeat)
        return

    from nlp.pipeline import Enricher

    enricher = Enricher(NlpSettings(cache=False, typed_entities=not args.rules))
    rows, label_rows, costs = [], [], {}
    for name in args.sets.split(","):
        try:
            docs = load(name, args.split, Path(args.gold) if args.gold else None)
        except FileNotFoundError as exc:
            print(f"{name}: {exc}")
            continue
        enricher.analyse_text(docs[0].text, docs[0].language)  # load the pipeline outside the timing
        preds, cpu = [], 0.0
        context = enricher._needs_context(docs[0].language)
        for doc in docs:
            # the token states come from the encoder's pass over the passages, which the ingest runs anyway (the
            # encoder column below): outside the extraction's timing
            pieces = enricher.text_pieces(doc.text) if context else None
            t0 = time.process_time()
            preds.append(extract(enricher, doc, pieces))
            cpu += time.process_time() - t0
        gold_sets = [{(a, b) for a, b, _ in d.spans} for d in docs]
        ours = span_scores([({(a, b) for a, b, _ in p}, g) for p, g in zip(preds, gold_sets)])
        base = span_scores([(baseline(d), g) for d, g in zip(docs, gold_sets)])
        rows.append((name, docs[0].language, len(docs), sum(map(len, gold_sets)), ours, base))
        # Per gold label: exact recall (untyped), typed exact P/R/F1 where a type maps onto it.
        mapping = TYPE_TO_GOLD.get(name, {})
        labels = sorted({label for d in docs for *_, label in d.spans})
        for label in labels:
            gold_l = [{(a, b) for a, b, lab in d.spans if lab == label} for d in docs]
            recall = sum(len({(a, b) for a, b, _ in p} & g) for p, g in zip(preds, gold_l)) / max(1, sum(map(len, gold_l)))
            types = [t for t, g in mapping.items() if g == label]
            typed = None
            if types:
                pred_l = [{(a, b) for a, b, t in p if t in types} for p in preds]
                tp = sum(len(p & g) for p, g in zip(pred_l, gold_l))
                typed = prf(tp, sum(map(len, pred_l)), tp, sum(map(len, gold_l)))
            label_rows.append((name, label, sum(map(len, gold_l)), recall, "/".join(types), typed))
        costs[name] = (cpu / len(docs), docs)

    print(f"\nTechnology entities vs gold, {args.split} split (span identification, labels ignored)\n")
    print("| gold set | lang | docs | gold spans | dualscout exact P / R / F1 | overlap P / R / F1 "
          "| baseline exact P / R / F1 | baseline overlap F1 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, lang, n, g, ours, base in rows:
        print(f"| {name} | {lang} | {n} | {g} | {fmt(ours['exact'])} | {fmt(ours['overlap'])} "
              f"| {fmt(base['exact'])} | {base['overlap'][2]:.2f} |")
    print("\nPer gold label: exact recall of its spans (any type), typed exact P / R / F1 of the type(s) mapped to it\n")
    print("| gold set | label | gold spans | exact recall | our type | typed P / R / F1 |")
    print("|---|---|---|---|---|---|")
    for name, label, n, recall, types, typed in label_rows:
        print(f"| {name} | {label} | {n} | {recall:.2f} | {types or '-'} | {fmt(typed) if typed else '-'} |")

    if costs and not args.no_cost:
        from nlp.passages import split_passages

        embedder = enricher.embedder
        print("\nIngest cost per document (CPU ms, this split's documents)\n")
        print("| gold set | extraction (analyse_text) | encoder (passages) | extraction / encoder |")
        print("|---|---|---|---|")
        for name, (extraction, docs) in costs.items():
            sample = docs[: min(len(docs), 50)]
            embedder.encode([sample[0].text[:200]])  # warm
            t0 = time.process_time()
            for doc in sample:
                passages = split_passages(doc.text, embedder, overlap_tokens=enricher.settings.passage_overlap_tokens)
                embedder.encode([p.text for p in passages.passages])
            encoder = (time.process_time() - t0) / len(sample)
            print(f"| {name} | {extraction * 1000:.1f} | {encoder * 1000:.1f} | {extraction / encoder:.2f} |")
    print()
    if args.demo_docs and not args.no_cost:
        enrich_cost(args.demo_docs, models, args.repeat)


def demo_documents(n: int):
    """The demo corpus's arXiv abstracts and its Japanese records (what `make demo` ingests)."""
    import json

    from domain.models import Document

    data = Path(__file__).resolve().parents[1] / "scout" / "demo" / "data"
    docs = []
    for line in (data / "arxiv.jsonl").read_text(encoding="utf-8").splitlines()[:n]:
        row = json.loads(line)
        docs.append(Document.make(kind="research", source="arxiv", url=f"demo:{row['id']}", title=row["title"],
                                  text=row["summary"], language="en"))
    for group in ("jstage", "kaken", "prtimes"):
        for i, row in enumerate(json.loads((data / "japanese.json").read_text(encoding="utf-8"))[group]):
            text = row.get("abstract") or row.get("outline_ja") or "\n".join(row.get("paragraphs") or [])
            if text:
                docs.append(Document.make(kind="research", source=group, url=f"demo:{group}:{i}",
                                          title=row.get("title_ja") or row.get("title", ""), text=text,
                                          language="ja"))
    return docs


def enrich_cost(n: int, models: list[Path] | None = None, repeat: int = 2) -> None:
    """CPU per document of the whole enrich stage on the demo corpus, typed entities off (the rules) and on (with
    the models of each folder of `models`, or the configured one), alternated in one run."""
    from nlp.pipeline import Enricher

    docs = demo_documents(n)
    first = models[0] if models else None
    enrichers = {"rules": Enricher(NlpSettings(cache=False, typed_entities=False, onnx_dir=first))}
    for folder in models or [None]:
        name = folder.name if folder else "typed entities"
        enrichers[name] = Enricher(NlpSettings(cache=False, typed_entities=True, onnx_dir=folder))
    for enricher in enrichers.values():
        enricher.enrich(docs[:3])  # models loaded outside the timing
    figures: dict[str, float] = {}
    for _ in range(repeat):  # alternated, the best of each: a busy machine's noise is one-sided
        for name, enricher in enrichers.items():
            t0 = time.process_time()
            enricher.enrich(docs)
            took = (time.process_time() - t0) / len(docs)
            figures[name] = min(took, figures.get(name, took))
    rules = figures.pop("rules")
    typed = ", ".join(f"{name} {took * 1000:.1f} ({took / rules:.2f}x)" for name, took in figures.items())
    print(f"Enrich stage on the demo corpus ({len(docs)} documents, CPU ms per document): rules {rules * 1000:.1f}, "
          f"{typed} (budget 1.3x the rules)\n")


if __name__ == "__main__":
    main()
