"""Free-text search quality on real data: what an analyst types into `scout search`, scored against sbir-bench's
judgements, for the product's settings and for the search-latency levers (issue 28) that change rankings.

The queries, two per need of the benchmark's dev split (its needs with judgements):
- `title`: the need's title as published;
- `keys`: a key-phrase query made from the title by one fixed rule: its words (letters, digits, hyphens) less
  English stop words (spaCy's list) and words of fewer than 3 characters; of those, the 3 found in the fewest
  of the benchmark's documents (title and text; ties: the earlier word), in the title's order. It uses no
  judgement, only the corpus an analyst searches.

Each query runs through the Library's search (`service.index_library.IndexLibrary.search`, what `scout search`
calls: `Ranker.search` for 100 hits, then one result per technology, versions grouped), with the product's
default page (20 results), under five filters: none, kind (research) + date (published 2018 or later), language
(en), concept (the query's first taxonomy concept, as the analyst would pick it from the page; a query with
none is left out of that filter) and concept+date (that concept, awarded in 2019, the last of the corpus's three
years: a narrow filter, whose page holds documents below every floor of the query's unfiltered lists). A
result's versions are listed after it (its other versions by score).
Scored as `scout eval` scores needs (`index.evaluate.metrics`: nDCG@10 with binary gain, MRR over the list):
`all` against `qrels.tsv`, `strict` against `qrels_strict.tsv` with the need's anchor documents (awards whose
title copies the topic title) dropped from the list, the needs in the index dropped from every list (they are
not the documents judged), and the relevant set cut to the documents the filter lets through (a query none of
whose relevant documents passes is left out of that filter).

The variants (levers of the search's latency at a million documents, README "Past one machine"):
`oversampling2` (`SCOUT_INDEX_RESCORE_OVERSAMPLING=2`, a dense search re-scores twice the hits it returns on the
float vectors: the product's default until 6 December 19:50, the baseline), `oversampling1` (the hits it returns
only: the product's default since), `depth200` (oversampling 2 and `RankWeights.search_scale_depth=200`: a
free-text query's channels scaled as in its unfiltered 200-deep lists, not 500), `both`; `margin40` and
`margin20` (oversampling 1, and `RankWeights.search_rescore_margin`: a free-text ranking re-scores the hits asked
for and 40 or 20 more, at least 60, not 3 x the hits asked for; the others re-score 3 x, as the product did until
6 December 22:15; margin40 is its default since); `graph` (margin40 with every filtered passage and title search
walking the graph: the product until 7 December, before a narrow filter's searches scanned its points,
`index.backends.edge.EXACT_SEARCH_POINTS`); `searched` (margin40 with every filtered search searching its
filtered lists: the product until 7 December, before a filtered search could rank from its query's unfiltered
lists cut to the filter, `Ranker.filtered_reference`); `head_by_id` (margin40 with the re-scored head's documents
that no channel scores, a narrow filter's below every unfiltered floor, taken in the order of their ids: the
product until the evening of 7 December, before they were taken in the order their filtered lists rank them,
`Ranker.head_order`); `bm25_searched` (margin40 with a filtered search's BM25 lists searched under the filter
where its filtered searches run: the product until the night of 7 December, before they were its unfiltered
BM25 lists cut to the filter, `Ranker.lexical_cut`, which changes only which documents below every unfiltered
floor a narrow filter's page shows; the filter concept+date exercises it). It prints a table per variant, then
each variant against the baseline (`--baseline`, default oversampling2; oversampling1 for the margins): the
mean difference of strict nDCG@10 and MRR with a paired bootstrap 95% interval and a paired sign-flip
randomization p-value, how many rankings moved, the top-20 overlap, and how many searches' facet counts (over
the best 100 hits) moved.

The index: the benchmark enriched once into `--work`/bench-index (the folder `bench/ranking_quality.py` builds
and reuses: the same enrich + `Index.upsert` code as `scout eval`), reopened for each variant. No timing here:
a quality run needs no bench lock (run it niced).

    PYTHONPATH=$PWD python bench/search_quality.py [../shared/data/sbir-bench] [--work var]
        [--variants oversampling2 oversampling1 depth200 both margin40 margin20 graph searched head_by_id bm25_searched] [--baseline oversampling2]
        [--forms title keys]
        [--filters none kind+date language concept concept+date] [--limit-needs N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.shared_data import SBIR_BENCH, existing  # noqa: E402

import numpy as np  # noqa: E402

from domain.models import DocKind, SearchFilters  # noqa: E402
from domain.settings import IndexSettings  # noqa: E402
from index.backends.base import Cond  # noqa: E402
from index.evaluate import Bench, build_index, load_bench, metrics  # noqa: E402
from index.ranking import Ranker, RankWeights  # noqa: E402
from index.store import DOC_POINT, Index, filters_to_where  # noqa: E402
from index.suppliers import KnownSuppliers  # noqa: E402

PAGE = 20  # `scout search`'s default --limit
KEY_WORDS = 3
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]|[A-Za-z0-9]")


@dataclass(frozen=True)
class Variant:
    name: str
    oversampling: float  # IndexSettings.rescore_oversampling
    scale_depth: int  # RankWeights.search_scale_depth
    rescore_margin: int | None = None  # RankWeights.search_rescore_margin (None: 3 x the hits asked for)
    scan_below: int | None = None  # index.backends.edge.EXACT_SEARCH_POINTS (None: the product's)
    cut_lists: bool = True  # a filtered search may rank from its unfiltered lists (Ranker.filtered_reference)
    head_by_lists: bool = True  # the head's documents without a share taken by their lists' order (Ranker.head_order)
    lexical_cut: bool = True  # a filtered search's BM25 lists cut from its unfiltered ones (Ranker.lexical_cut)


# oversampling2: the product's defaults until 6 December 19:50, the baseline the levers were judged against;
# oversampling1: the product's defaults since (IndexSettings.rescore_oversampling 1, search_scale_depth 500), until
# margin40 (6 December 22:15).
# The margin variants (RankWeights.search_rescore_margin; the others re-score 3 x the hits asked for, as the
# product did until 6 December 22:15): margin40 is the product's default since, judged against oversampling1.
VARIANTS = {v.name: v for v in (Variant("oversampling2", 2.0, 500), Variant("oversampling1", 1.0, 500),
                                Variant("depth200", 2.0, 200), Variant("both", 1.0, 200),
                                Variant("margin40", 1.0, 500, 40), Variant("margin20", 1.0, 500, 20),
                                Variant("graph", 1.0, 500, 40, 0), Variant("searched", 1.0, 500, 40, None, False),
                                Variant("head_by_id", 1.0, 500, 40, head_by_lists=False),
                                Variant("bm25_searched", 1.0, 500, 40, lexical_cut=False))}
BASELINE = "oversampling2"
FILTERS = ("none", "kind+date", "language", "concept", "concept+date")
NARROW_SINCE = date(2019, 1, 1)  # concept+date: the concept, and the last year of the corpus's awards (2017-2019)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def key_phrase(title: str, df: Counter, stop: frozenset[str]) -> str:
    """The `keys` rule (module docstring): the title's 3 content words found in the fewest documents."""
    content = []
    for i, w in enumerate(words(title)):
        if len(w) >= 3 and w.casefold() not in stop and w.casefold() not in {c[1].casefold() for c in content}:
            content.append((i, w))
    chosen = sorted(content, key=lambda iw: (df[iw[1].casefold()], iw[0]))[:KEY_WORDS]
    return " ".join(w for _, w in sorted(chosen))


def document_frequency(bench: Bench) -> Counter:
    df: Counter = Counter()
    for d in bench.docs:
        df.update({w.casefold() for w in words(f"{d.title} {d.text}")})
    return df


def open_index(path: Path, bench: Bench, enricher, oversampling: float) -> Index:
    """The benchmark's kept index (built on the first run, as bench/ranking_quality.py builds it)."""
    stamp = path / "built.json"
    if not stamp.exists() and path.exists() and any(path.iterdir()):
        sys.exit(f"{path} holds an index whose build did not finish (no built.json): remove it, or let "
                 f"bench/ranking_quality.py --work {path.parent} finish it")
    settings = IndexSettings(backend="edge", path=path, rescore_oversampling=oversampling)
    index = Index(settings, dim=384, command="bench/search_quality.py")
    if not stamp.exists():
        build_index(index, bench, enricher, lambda s, d, t: print(f"\r{s} {d}/{t}", end="", file=sys.stderr,
                                                                     flush=True))
        stamp.write_text(json.dumps({"docs": len(bench.docs), "needs": len(bench.needs)}))
        print(file=sys.stderr)
    return index


def flattened(hits) -> list[str]:
    """A page's document ids in the order read: each result, then its other versions (best score first); the
    needs left out (the index holds the benchmark's needs, which are not the documents judged)."""
    out = []
    for h in hits:
        if h.kind == DocKind.need:
            continue
        out.append(h.doc_id)
        others = [v for v in h.versions if v.doc_id != h.doc_id]
        out.extend(v.doc_id for v in sorted(others, key=lambda v: -(v.score or 0.0)))
    return out


def passing(index: Index, filters: SearchFilters, cache: dict) -> set[str]:
    """The document ids a filter lets through (its relevant set is cut to these)."""
    key = filters.model_dump_json()
    if key not in cache:
        where = filters_to_where(filters).and_(Cond("point", value=DOC_POINT))
        cache[key] = {h.payload["doc_id"] for h in index.scan(where, payload=["doc_id"])}
    return cache[key]


def run_variant(variant: Variant, bench: Bench, enricher, path: Path, queries: list[tuple[str, str, str]],
                filter_names: list[str]) -> dict:
    """(need, form, filter) -> {"list": bench ids read, "all": metrics | None, "strict": metrics | None}."""
    from service.index_library import IndexLibrary

    import index.backends.edge as edge

    scan_below = edge.EXACT_SEARCH_POINTS
    if variant.scan_below is not None:
        edge.EXACT_SEARCH_POINTS = variant.scan_below
    index = open_index(path, bench, enricher, variant.oversampling)
    try:
        ranker = Ranker(index, enricher, KnownSuppliers(), weights=RankWeights(
            search_scale_depth=variant.scale_depth, search_rescore_margin=variant.rescore_margin))
        if not variant.cut_lists:
            ranker.filtered_reference = lambda *a, **k: None
        if not variant.lexical_cut:
            ranker.lexical_cut = lambda *a, **k: {}
        if not variant.head_by_lists:
            ranker.head_order = lambda cands, *a: sorted(cands.values(), key=lambda c: (-c.fused, c.doc_id))
        library = IndexLibrary(index, enricher, ranker)
        through: dict = {}
        out = {}
        started = time.time()
        for n, (nid, form, text) in enumerate(queries, start=1):
            concepts = ranker.query_concepts(text)
            for fname in filter_names:
                filters = {"none": None, "language": SearchFilters(language="en"),
                           "kind+date": SearchFilters(kind=DocKind.research, since=date(2018, 1, 1)),
                           "concept": SearchFilters(concept=concepts[0]) if concepts else "skip",
                           "concept+date": SearchFilters(concept=concepts[0], since=NARROW_SINCE) if concepts
                           else "skip"}[fname]
                if filters == "skip":
                    continue
                found = library.search(text, filters, limit=PAGE)
                ids = flattened(found.hits)
                ok = None if filters is None else {bench.bench_id.get(d, d) for d in passing(index, filters, through)}
                ranking = [bench.bench_id.get(d, d) for d in ids]
                row = {"list": ranking, "all": None, "strict": None, "facets": found.facets}
                rel = bench.qrels[nid] if ok is None else bench.qrels[nid] & ok
                if rel:
                    row["all"] = metrics(ranking, rel)
                strict = bench.strict.get(nid, set()) if ok is None else bench.strict.get(nid, set()) & ok
                if strict:
                    drop = bench.anchors.get(nid, set())
                    row["strict"] = metrics([d for d in ranking if d not in drop], strict)
                out[(nid, form, fname)] = row
            if n % 25 == 0 or n == len(queries):
                print(f"\r{variant.name}: {n}/{len(queries)} queries, {time.time() - started:.0f} s, load "
                      f"{os.getloadavg()[0]:.1f}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    finally:
        index.close()
        edge.EXACT_SEARCH_POINTS = scan_below
    return out


def overlap(a: list[str], b: list[str]) -> float:
    """Documents two pages share, over the longer page (a page holds fewer than 20 documents when needs were
    among its results); two empty pages: 1."""
    return len(set(a) & set(b)) / max(len(a), len(b)) if a or b else 1.0


def mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def paired(a: list[float], b: list[float], rng: np.random.Generator, rounds: int = 10_000) -> tuple[float, float, float, float]:
    """Mean of b - a, its paired bootstrap 95% interval, and the two-sided sign-flip randomization p-value."""
    d = np.asarray(b) - np.asarray(a)
    if not len(d):
        return float("nan"), float("nan"), float("nan"), float("nan")
    boot = d[rng.integers(0, len(d), (rounds, len(d)))].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    flips = rng.choice([-1.0, 1.0], (rounds, len(d)))
    p = float(np.mean(np.abs((flips * d).mean(axis=1)) >= abs(d.mean()) - 1e-12))
    return float(d.mean()), float(lo), float(hi), p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench_dir", nargs="?", type=existing, default=str(SBIR_BENCH))
    ap.add_argument("--work", default="var", help="folder of the kept benchmark index (bench-index/)")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--baseline", default=BASELINE, choices=list(VARIANTS),
                    help="the variant the others are compared with (oversampling1: the product's defaults)")
    ap.add_argument("--forms", nargs="+", default=["title", "keys"], choices=["title", "keys"])
    ap.add_argument("--filters", nargs="+", default=list(FILTERS), choices=list(FILTERS))
    ap.add_argument("--limit-needs", type=int)
    ap.add_argument("--needs", choices=["strict", "all"], default="strict",
                    help="the queries of the needs with strict judgements (the score that counts; 191 of 330 on the "
                         "dev split), or of every need with judgements")
    ap.add_argument("--json", type=Path, help="also write every list and score to this file")
    ap.add_argument("--load", type=Path, nargs="+", metavar="JSON",
                    help="print the tables from earlier runs' --json files (variants run in separate processes) "
                         "instead of searching")
    args = ap.parse_args()

    from nlp.pipeline import Enricher
    from spacy.lang.en.stop_words import STOP_WORDS

    bench = load_bench(Path(args.bench_dir), args.limit_needs)
    if args.needs == "strict":
        bench.needs = [n for n in bench.needs if bench.strict.get(bench.bench_id[n.id])]
    df = document_frequency(bench)
    stop = frozenset(w.casefold() for w in STOP_WORDS)
    queries = []
    for need in bench.needs:
        nid = bench.bench_id[need.id]
        forms = {"title": need.title, "keys": key_phrase(need.title, df, stop)}
        queries += [(nid, f, forms[f]) for f in args.forms if forms[f].strip()]
    results: dict[str, dict] = {}
    if args.load:
        load = []
        for file in args.load:
            saved = json.loads(file.read_text())
            load += saved["load"]
            for name, rows in saved["results"].items():
                name = {"product": BASELINE}.get(name, name)  # runs saved before the default changed
                results[name] = {tuple(k.split("|", 2)): r for k, r in rows.items()}
        args.variants = [v for v in VARIANTS if v in results]
    else:
        enricher = Enricher()
        path = Path(args.work) / "bench-index"
        load = [os.getloadavg()[0]]
        for name in args.variants:
            results[name] = run_variant(VARIANTS[name], bench, enricher, path, queries, args.filters)
            load.append(os.getloadavg()[0])
        if args.json:
            args.json.write_text(json.dumps({"load": load, "results": {
                name: {"|".join(k): r for k, r in res.items()} for name, res in results.items()}}))

    print(f"sbir-bench dev split: {len(bench.needs)} needs, {len(bench.docs)} documents; {len(queries)} queries "
          f"({', '.join(args.forms)}); Library.search, page of {PAGE}; load {min(load):.1f}-{max(load):.1f}")
    examples = [(f, t) for _, f, t in queries[:4]]
    print("e.g. " + "; ".join(f"{f}: {t!r}" for f, t in examples))
    for name in args.variants:
        v = VARIANTS[name]
        print(f"\n{name} (rescore oversampling {v.oversampling:g}, search_scale_depth {v.scale_depth}, "
              f"search_rescore_margin {v.rescore_margin})")
        print(f"{'form':<6} {'filter':<12} {'n':>4} {'nDCG@10':>8} {'MRR':>6} {'n strict':>9} {'nDCG@10':>8} {'MRR':>6}")
        for form in args.forms:
            for fname in args.filters:
                rows = [r for (_, f, fl), r in results[name].items() if f == form and fl == fname]
                a = [r["all"] for r in rows if r["all"]]
                s = [r["strict"] for r in rows if r["strict"]]
                print(f"{form:<6} {fname:<12} {len(a):>4} {mean([m['ndcg@10'] for m in a]):8.4f} "
                      f"{mean([m['mrr'] for m in a]):6.4f} {len(s):>9} {mean([m['ndcg@10'] for m in s]):8.4f} "
                      f"{mean([m['mrr'] for m in s]):6.4f}")

    baseline = args.baseline
    if baseline in results and len(results) > 1:
        rng = np.random.default_rng(0)
        base = results[baseline]
        print(f"\nagainst {baseline}, strict (paired over the same queries; 95% bootstrap interval; sign-flip p); "
              "rankings moved: pages (top 20) not identical; overlap: documents two pages share / the longer page; "
              "facets moved: searches whose facet counts (of the best 100) differ")
        print(f"{'variant':<14} {'form':<6} {'filter':<12} {'n':>4} {'d nDCG@10':>10} {'95% interval':>18} {'p':>6} "
              f"{'d MRR':>8} {'p':>6} {'moved':>9} {'metric moved':>12} {'overlap mean/min':>17} {'facets moved':>12}")
        for name in (n for n in args.variants if n != baseline):
            for form in args.forms:
                for fname in args.filters:
                    keys = [k for k in base if k[1] == form and k[2] == fname and k in results[name]]
                    s_keys = [k for k in keys if base[k]["strict"] and results[name][k]["strict"]]
                    a_n = [base[k]["strict"]["ndcg@10"] for k in s_keys]
                    b_n = [results[name][k]["strict"]["ndcg@10"] for k in s_keys]
                    a_r = [base[k]["strict"]["mrr"] for k in s_keys]
                    b_r = [results[name][k]["strict"]["mrr"] for k in s_keys]
                    dn, lo, hi, pn = paired(a_n, b_n, rng)
                    dr, _, _, pr = paired(a_r, b_r, rng)
                    moved = sum(base[k]["list"][:PAGE] != results[name][k]["list"][:PAGE] for k in keys)
                    score_moved = sum(a != b or c != e for a, b, c, e in zip(a_n, b_n, a_r, b_r))
                    over = [overlap(base[k]["list"][:PAGE], results[name][k]["list"][:PAGE]) for k in keys]
                    facets = [k for k in keys if "facets" in base[k] and "facets" in results[name][k]]
                    facets_moved = sum(base[k]["facets"] != results[name][k]["facets"] for k in facets)
                    print(f"{name:<14} {form:<6} {fname:<12} {len(s_keys):>4} {dn:+10.4f} [{lo:+.4f}, {hi:+.4f}] "
                          f"{pn:6.3f} {dr:+8.4f} {pr:6.3f} {moved:>4}/{len(keys):<4} {score_moved:>5}/{len(s_keys):<6} "
                          f"{mean(over):8.3f}/{min(over, default=float('nan')):.2f} {facets_moved:>6}/{len(facets)}")


if __name__ == "__main__":
    main()
