"""Search latency (p50/p95), a need's full ranking, index size on disk and memory when open, at 10k, 100k and
(`--sizes 10000 100000 1000000`) a million documents, embedded (Qdrant Edge), and how each grows with size.

The timed calls are `Ranker.search(text, filters)` (a page of hits) and, beside it, `IndexLibrary.search` (what
`scout search`, the search page and the API run: the page, grouped, with the facets of the best FACET_HITS
hits and the evidence people read; `--no-library` leaves it out), with the product's `Enricher` (every query
is new text, so the embedding cache misses; a filter's rows are a new query's, and beside them the Library's
search with the filter clicked on the page of the same query just searched without it, whose unfiltered lists
are kept): query embedding with the real all-MiniLM-L6-v2, BM25 query encoding, dense + sparse retrieval, fusion, re-scoring and evidence, as the product runs
it. The corpora are SYNTHETIC at both scales (so the two are comparable and 100k needs no crawl): per
document two passage vectors drawn around 400 topic centroids in the model's 384-d space (real embeddings of
topic phrases, plus noise), a title vector near them, a Zipf-distributed BM25 sparse vector over the stems of
1,000 real arXiv abstracts (so query terms hit) and a title BM25 vector, and realistic payload (kind, source,
language, dates, concepts, organizations), 8 multilingual sentence vectors (the channel on by default); 1,000
of the documents are needs at every size: the points, named vectors and payload indexes an enrich writes,
through the same `Index.upsert`. Memory: process RSS growth from opening the index, and its size on disk. Every
figure is printed with the load average beside it (the machine may be shared).

    PYTHONPATH=$PWD python bench/index_latency.py [--sizes 10000 100000 1000000] [--queries 200] [--breakdown]
        [--keep DIR] [--warmup 100] [--needs 20] [--build-only] [--sentences 8]
        [--heap settled|default]

A million synthetic documents are three million points: build them once with `--keep DIR` (`--build-only`
stops after building) and let later runs reuse the folder; a killed build resumes where it stopped. Most of a
build's time is the final optimize (HNSW graphs, and the payload indexes' filtered graphs).
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.shared_data import ARXIV_SAMPLES  # noqa: E402

import numpy as np  # noqa: E402

from index.ranking import Ranker  # noqa: E402
from index.store import Index  # noqa: E402
from index.backends.base import SENTENCE_DIM  # noqa: E402
from index.suppliers import KnownSuppliers  # noqa: E402
from domain.heap import settle_heap  # noqa: E402
from service.index_library import IndexLibrary  # noqa: E402
from nlp.base import EnrichedDocument, SparseVector  # noqa: E402
from domain.models import Analysis, Document, DocKind, Passage, SearchFilters  # noqa: E402
from domain.settings import IndexSettings  # noqa: E402

TOPICS = [
    "quantum sensing magnetometer", "radar absorbing metamaterial", "lithium sulfur battery", "hypersonic thermal protection",
    "GPS-denied navigation", "underwater acoustic communication", "satellite synthetic aperture radar", "drone swarm autonomy",
    "additive manufacturing titanium", "cybersecurity anomaly detection", "machine translation speech", "infrared focal plane array",
    "solid rocket propellant", "biodefense vaccine platform", "directed energy laser", "space debris tracking",
]
QUERIES = [
    "compact quantum magnetometer for navigation without GPS", "coatings that absorb radar at X band",
    "high energy density batteries for soldiers", "thermal protection for hypersonic vehicles",
    "detecting intrusions in tactical networks", "autonomous swarms of small drones", "printing titanium parts in the field",
    "tracking debris in low earth orbit", "infrared sensors for night vision", "laser weapons against drones",
    "水中音響通信の研究", "小型衛星による合成開口レーダー観測",
]


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory; `RssAnon`: the process's own, without the pages of memory-mapped index files (the OS's
    page cache, given back under memory pressure)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def real_vocabulary() -> list[int]:
    """Term ids of the stems in 1,000 real arXiv abstracts, most frequent first, so that query terms hit."""
    import csv
    from collections import Counter

    from nlp.lexical import LexicalEncoder, term_id

    enc, counts = LexicalEncoder(), Counter()
    if not ARXIV_SAMPLES.exists():
        sys.exit(f"{ARXIV_SAMPLES} does not exist: set DUALSCOUT_SHARED to the shared data folder")
    with open(ARXIV_SAMPLES, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            counts.update(enc.tokens(" ".join(str(v) for v in row.values()), "en"))
    for q in QUERIES:
        counts.update(enc.tokens(q))
    return [term_id(t) for t, _ in counts.most_common()]


CHUNK = 10_000  # documents drawn from one seeded generator: a build resumes at any chunk boundary
# Needs in the corpus, at every size: a deployment ranks hundreds of published needs (sbir-bench: 676) against a
# growing crawl, and ranking's hubness correction and need statistics grow with the needs, not the documents.
# (Until this session one document in ten was a need: 100,000 needs at a million, whose first ranking pays one
# BM25 search per need: 168 s at 100k, hours at a million.)
CORPUS_NEEDS = 1_000
# The multilingual channel's sentence vectors (on by default): a document's first 8 sentences (nlp/multilingual.py),
# 512-d, here around 400 random topic directions of that space. `--sentences 0`: a deployment with the channel off
# (`SCOUT_NLP_MULTILINGUAL=off`): no sentence vectors stored, queries without the channel, and (as the product
# creates an index with the channel off) no storage for them in the shard.
SENTENCES_PER_DOC = 8


def synthetic_items(n: int, centroids: np.ndarray, seed: int = 7, start: int = 0):
    """Documents start..n-1 (`start` a multiple of CHUNK): the product's points for each (two passages with their
    vectors, the document's BM25 vector, its title's vector and BM25 vector, the payload fields searches filter on)."""
    vocab_ids = np.array(real_vocabulary(), dtype=np.int64)
    vocab = len(vocab_ids)
    zipf_cdf = np.cumsum(1.0 / np.arange(1, vocab + 1) ** 1.05)
    zipf_cdf /= zipf_cdf[-1]
    kinds = ["research"] * 7 + ["startup"] * 2
    sources = ["openalex", "jstage", "kaken", "prtimes", "sbir", "atla"]
    concepts = [f"concept-{i}" for i in range(200)]
    dim = centroids.shape[1]
    sentence_topics = np.random.default_rng(seed).standard_normal((len(centroids), SENTENCE_DIM), dtype=np.float32)
    sentence_topics /= np.linalg.norm(sentence_topics, axis=1, keepdims=True)
    for c0 in range(start - start % CHUNK, n, CHUNK):
        rng = np.random.default_rng([seed, c0 // CHUNK])
        size = min(CHUNK, n - c0)
        # drawn a chunk at a time (numpy, not a call per document): the build's cost is the index's
        topics = rng.integers(len(centroids), size=size)
        vecs = centroids[topics][:, None, :] + rng.normal(0, 0.045, size=(size, 3, dim))
        vecs /= np.linalg.norm(vecs, axis=2, keepdims=True)
        vecs = vecs.astype(np.float32)  # rows 0-1 the passages, row 2 the title
        terms = np.searchsorted(zipf_cdf, rng.random((size, 90)))
        title_terms = np.searchsorted(zipf_cdf, rng.random((size, 8)))
        weights = rng.uniform(0.6, 2.0, (size, 90)).round(3)
        years = 2015 + rng.integers(11, size=size)
        n_concepts = rng.integers(1, 4, size=size)
        sent = sentence_topics[topics][:, None, :] + rng.standard_normal(
            (size, SENTENCES_PER_DOC, SENTENCE_DIM), dtype=np.float32) * np.float32(0.04)
        sent /= np.linalg.norm(sent, axis=2, keepdims=True) + np.float32(1e-12)
        for j in range(size):
            i, topic = c0 + j, int(topics[j])
            if i < start:
                continue
            ids = np.unique(vocab_ids[terms[j]])
            sparse = SparseVector(indices=ids.tolist(), values=weights[j, : len(ids)].tolist())
            tids = np.unique(vocab_ids[title_terms[j]])
            title_sparse = SparseVector(indices=tids.tolist(), values=[1.0] * len(tids))
            kind = "need" if i < CORPUS_NEEDS else kinds[i % len(kinds)]
            doc = Document(id=f"syn-{i:07d}", kind=kind, source=sources[i % len(sources)], url=f"https://example.org/{i}",
                           title=f"Synthetic document {i} on topic {topic}", text="x" * 900,
                           language="ja" if i % 5 == 0 else "en",
                           published=datetime(int(years[j]), 1 + i % 12, 1, tzinfo=timezone.utc), content_hash=f"h{i}")
            cs = sorted({concepts[(topic * 7 + k) % 200] for k in range(int(n_concepts[j]))})
            analysis = Analysis(doc_id=doc.id, language=doc.language, concepts=cs,
                                areas=["us-quantum"] if topic % 3 == 0 else [],
                                organizations={f"org{i % 5000}": f"Org {i % 5000} Inc."},
                                passages=[Passage(index=0, start=0, end=450, text="x" * 450, hash="a"),
                                          Passage(index=1, start=450, end=900, text="x" * 450, hash="b")])
            yield EnrichedDocument(doc, analysis, vecs[j, :2], sparse, title_vector=vecs[j, 2], title_sparse=title_sparse,
                                   sentence_vectors=sent[j] if SENTENCES_PER_DOC else None)


# The filters every search is timed under, by name: the synthetic corpus's kinds, dates, languages and concepts.
FILTERS = {
    "none": None,
    "kind+date": SearchFilters(kind=DocKind.research, since=date(2020, 1, 1)),
    "language": SearchFilters(language="ja"),
    "concept": SearchFilters(concept="concept-7"),
}


def topic_phrases() -> list[str]:
    """The 400 phrases whose embeddings are the synthetic corpus's topic centroids."""
    return [f"{t} {s}" for t in TOPICS for s in ("research", "system", "sensor", "material", "software", "prototype",
                                                   "testing", "design", "analysis", "startup", "field trial", "model",
                                                   "network", "device", "method", "platform", "algorithm",
                                                   "fabrication", "detection", "control", "simulation", "integration",
                                                   "evaluation", "architecture", "demonstration")]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def build(ix_path: Path, n: int, centroids: np.ndarray, batch: int = 1000) -> float:
    """Write n synthetic documents through the one front (`Index.upsert`, as an enrich does) and optimize.
    Resumable: every CHUNK documents are flushed and counted in `.progress`, and a re-run (same --keep DIR)
    goes on from there (upserts are idempotent). Returns the seconds this run spent."""
    progress = ix_path / ".progress"  # "documents written / corpus": another corpus's partial build starts over
    corpus = f"{n} documents, {CORPUS_NEEDS} needs, {SENTENCES_PER_DOC} sentence vectors"
    written, _, of = (progress.read_text() if progress.exists() else "0/").partition("/")
    done = int(written) if of == corpus else 0
    if not done:
        shutil.rmtree(ix_path, ignore_errors=True)
    t0 = last = time.time()
    settings = IndexSettings(backend="edge", path=ix_path)
    with Index(settings, dim=384, command="bench/index_latency.py", sentences=SENTENCES_PER_DOC > 0) as ix:
        if done:
            print(f"{n:>7} docs  build resumed at {done}", flush=True)
        pending = []
        for i, item in enumerate(synthetic_items(n, centroids, start=done), start=done):
            pending.append(item)
            if len(pending) == batch or i == n - 1:
                ix.upsert(pending, flush=False)
                pending = []
            if (i + 1) % CHUNK == 0 or i == n - 1:
                ix.flush()
                progress.write_text(f"{i + 1}/{corpus}")
                rate = (i + 1 - done) / (time.time() - t0)
                if (i + 1) % (10 * CHUNK) == 0 or i == n - 1 or time.time() - last > 60:
                    last = time.time()
                    print(f"{n:>7} docs  built {i + 1} ({rate:.0f} docs/s, about {(n - i - 1) / rate / 60:.0f} min to "
                          f"go before the optimize; {load()})", flush=True)
        t1 = time.time()
        print(f"{n:>7} docs  upserts done in {t1 - t0:.0f} s; optimizing (HNSW graphs) ... {load()}", flush=True)
        ix.optimize()
        print(f"{n:>7} docs  optimize {time.time() - t1:.0f} s ({load()})", flush=True)
    return time.time() - t0


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Stages:
    """Wall time of each search's stages, by wrapping the ranker's collaborators (their code is unchanged):
    query = Enricher.query (embedding + BM25 + concepts), dense/sparse = the passage and document retrieval
    calls, titles = the title channels' (dense and BM25), payloads = the re-scoring fetch, evidence = evidence
    passages; rest = fusion, re-scoring and result building. The channels search two at a time
    (`channels.CHANNEL_THREADS`): their stages overlap, and their sum can pass the search's time ("rest" < 0)."""

    NAMES = ("query", "dense", "sparse", "titles", "payloads", "evidence")

    def __init__(self, ranker: Ranker):
        import index.ranking.ranker as ranker_module

        self.current: dict[str, float] = {}
        self.rows: list[dict[str, float]] = []
        self._wrapped = []
        for obj, attr, name in ((ranker.enricher, "query", "query"), (ranker.index, "search_dense", "dense"),
                                (ranker.index, "search_sparse", "sparse"), (ranker.index, "search_titles", "titles"),
                                (ranker.index, "search_title_sparse", "titles"), (ranker.index, "get_many", "payloads"),
                                (ranker_module, "evidence_pairs", "evidence")):
            self._wrap(obj, attr, name)

    def _wrap(self, obj, attr: str, name: str) -> None:
        inner = getattr(obj, attr)

        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return inner(*a, **kw)
            finally:
                self.current[name] = self.current.get(name, 0.0) + (time.perf_counter() - t) * 1000

        setattr(obj, attr, timed)
        self._wrapped.append((obj, attr, inner))

    def record(self, total_ms: float) -> None:
        row = {n: self.current.get(n, 0.0) for n in self.NAMES}
        row["rest"] = total_ms - sum(row.values())
        self.rows.append(row)
        self.current = {}

    def report(self) -> str:
        cols = [*self.NAMES, "rest"]
        return "  ".join(f"{n} {statistics.median([r[n] for r in self.rows]):.1f}/"
                         f"{percentile([r[n] for r in self.rows], 95):.1f}" for n in cols) + "  (p50/p95 ms)"

    def close(self) -> None:
        for obj, attr, inner in self._wrapped:
            if isinstance(obj, type(statistics)):
                setattr(obj, attr, inner)  # a module's function
            else:
                delattr(obj, attr)  # back to the class's method


def main() -> None:
    global SENTENCES_PER_DOC
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=100,
                    help="searches run (and reported apart) after opening the index, before the timed ones")
    ap.add_argument("--breakdown", action="store_true", help="also print where each search's time goes")
    ap.add_argument("--needs", type=int, default=20, help="needs ranked in full (Ranker.match) at each size")
    ap.add_argument("--heap", choices=("settled", "default"), default="settled",
                    help="settled: the heap settled after the warm-up searches, as `scout serve` settles it "
                         "(domain/heap.py); default: the interpreter's own collector settings")
    ap.add_argument("--keep", type=Path, default=None,
                    help="build each index under DIR/ix-N and keep it; a later run with the same DIR reuses it")
    ap.add_argument("--build-only", action="store_true", help="build (or finish building) the indexes and stop")
    ap.add_argument("--library", action=argparse.BooleanOptionalAction, default=True,
                    help="also time the Library's search (IndexLibrary.search: what `scout search` runs)")
    ap.add_argument("--sentences", type=int, default=SENTENCES_PER_DOC,
                    help="multilingual sentence vectors per document; 0: the channel off (none stored, none queried)")
    args = ap.parse_args()
    SENTENCES_PER_DOC = args.sentences

    cache_dir = Path(tempfile.mkdtemp(prefix="scout-latency-cache-"))
    # The product's query path, as `scout search` runs it: taxonomy concepts, term translation, passage
    # split, BM25 encoding, and the embedding cache (default on; every query here is new text: a miss).
    from nlp.cache import CachedEmbedder, EmbeddingCache
    from nlp.embedder import SentenceTransformerEmbedder
    from nlp.pipeline import Enricher
    from domain.settings import NlpSettings

    nlp_settings = NlpSettings(cache=False, **({} if SENTENCES_PER_DOC else {"multilingual": "off"}))
    enricher = Enricher(nlp_settings, embedder=CachedEmbedder(SentenceTransformerEmbedder(nlp_settings),
                                                              EmbeddingCache(cache_dir / "embeddings.sqlite")))
    centroids = enricher.embedder.encode(topic_phrases())  # real model space, 400 topics
    enricher.query(QUERIES[0])  # load the model and the English pipeline ...
    enricher.query(QUERIES[-1])  # ... and the Japanese one (its first load takes ~2 s)
    serial = itertools.count(1)
    embed = []
    for qi in range(50):
        t = time.perf_counter()
        enricher.query(f"{QUERIES[qi % len(QUERIES)]} ({next(serial)})")
        embed.append((time.perf_counter() - t) * 1000)
    print(f"query embedding + BM25 encoding alone: p50 {statistics.median(embed):.1f} ms, "
          f"p95 {percentile(embed, 95):.1f} ms ({load()})", flush=True)
    filters = FILTERS
    rows, library_rows, clicked_rows = [], [], []
    sizes: dict[int, dict[str, float]] = {}
    for n in args.sizes:
        if args.keep is not None:
            tmp = args.keep
            ix_path = tmp / f"ix-{n}"
        else:
            tmp = Path(tempfile.mkdtemp(prefix="scout-latency-"))
            ix_path = tmp / "ix"
        built = ix_path / ".complete"  # written after a finished build; a killed one resumes (`build`)
        corpus = f"{n} documents, {CORPUS_NEEDS} needs, {SENTENCES_PER_DOC} sentence vectors"  # else rebuilt
        try:
            settings = IndexSettings(backend="edge", path=ix_path)
            if not built.exists() or built.read_text() != corpus:
                if built.exists():
                    shutil.rmtree(ix_path)
                ingest = build(ix_path, n, centroids)
                built.write_text(corpus)
            else:
                ingest = float("nan")
            if args.build_only:
                print(f"{n:>7} docs  built: {dir_mb(ix_path):.0f} MiB on disk ({load()})", flush=True)
                continue
            disk = dir_mb(ix_path)
            before, before_anon = rss_mb(), rss_mb("RssAnon")
            with Index(settings, dim=384, command="bench/index_latency.py", sentences=SENTENCES_PER_DOC > 0) as ix:
                opened, opened_anon = rss_mb(), rss_mb("RssAnon")
                # an index built before 6 December 14:00 with --sentences 0 still holds the (empty) storage
                print(f"{n:>7} docs  the index {'holds' if ix.has_sentences() else 'has no'} `sentences` vector "
                      f"storage", flush=True)
                # the point -> document table (index/backends/point_docs.py): built on the first search, aside;
                # here at once, so that its time and memory are reported and the searches below all use it
                t = time.perf_counter()
                table = ix.backend.point_docs(wait=True) if hasattr(ix.backend, "point_docs") else None
                print(f"{n:>7} docs  point -> document table: {len(table) if table is not None else 0} points in "
                      f"{time.perf_counter() - t:.1f} s, RSS +{rss_mb() - opened:.0f} MiB (own "
                      f"+{rss_mb('RssAnon') - opened_anon:.0f}; {load()})", flush=True)
                ranker = Ranker(ix, enricher, KnownSuppliers())
                library = IndexLibrary(ix, enricher, ranker)
                if args.warmup:
                    # The first searches after opening are slow: dense retrieval takes 25-45 ms for about 20
                    # searches and settles over 60-80 at 3-8 ms (count-driven, not time: sleeping after open
                    # does not help; no page faults or disk reads). A running service pays that once: reported
                    # here, kept out of the steady-state figures (--warmup 0 counts them in).
                    cold = []
                    for qi in range(args.warmup):
                        q = f"{QUERIES[qi % len(QUERIES)]} ({next(serial)})"
                        t = time.perf_counter()
                        ranker.search(q, list(filters.values())[qi % len(filters)], limit=args.limit)
                        cold.append((time.perf_counter() - t) * 1000)
                    print(f"{n:>7} docs  first {len(cold)} searches after opening (not counted below): first "
                          f"{cold[0]:.0f} ms, median {statistics.median(cold):.1f} ms, max {max(cold):.0f} ms ({load()})",
                          flush=True)
                if args.heap == "settled":
                    # as `scout serve` does once its query models are loaded (domain/heap.py)
                    settle_heap()
                for name, flt in filters.items():
                    lat = []
                    stages = Stages(ranker) if args.breakdown else None
                    for qi in range(args.queries):
                        # distinct text in every search of the run: no cache (the product's embedding cache
                        # included) has seen it
                        q = f"{QUERIES[qi % len(QUERIES)]} ({next(serial)})"
                        t = time.perf_counter()
                        hits = ranker.search(q, flt, limit=args.limit)
                        lat.append((time.perf_counter() - t) * 1000)
                        if stages:
                            stages.record(lat[-1])
                    rows.append((n, name, statistics.median(lat), percentile(lat, 95), len(hits)))
                    print(f"{n:>7} docs  filter={name:<10} p50 {rows[-1][2]:6.1f} ms  p95 {rows[-1][3]:6.1f} ms "
                          f"({len(hits)} hits; {load()})", flush=True)
                    if stages:
                        print(f"{'':>17}{stages.report()}", flush=True)
                        stages.close()
                    if args.library:
                        # what `scout search`, the search page and the API run: the page's hits and the
                        # facets of the best FACET_HITS, grouped, with the evidence people read
                        lat = []
                        for qi in range(args.queries):
                            q = f"{QUERIES[qi % len(QUERIES)]} ({next(serial)})"
                            t = time.perf_counter()
                            found = library.search(q, flt, limit=args.limit)
                            lat.append((time.perf_counter() - t) * 1000)
                        library_rows.append((n, name, statistics.median(lat), percentile(lat, 95), len(found.hits)))
                        print(f"{n:>7} docs  filter={name:<10} p50 {statistics.median(lat):6.1f} ms  p95 "
                              f"{percentile(lat, 95):6.1f} ms  the Library's search ({len(found.hits)} hits shown, "
                              f"facets of {found.facet_hits}; {load()})", flush=True)
                        if flt is not None:
                            # the same filter clicked on the page of a query just searched without it (a
                            # facet): the query's unfiltered lists, which scale its scores, are kept from that
                            # search, so only the filtered lists are searched (the rows above: a filtered
                            # search of a new query, from a link or a typed query with the filter kept)
                            lat = []
                            for qi in range(args.queries):
                                q = f"{QUERIES[qi % len(QUERIES)]} ({next(serial)})"
                                library.search(q, None, limit=args.limit)
                                t = time.perf_counter()
                                found = library.search(q, flt, limit=args.limit)
                                lat.append((time.perf_counter() - t) * 1000)
                            clicked_rows.append((n, name, statistics.median(lat), percentile(lat, 95)))
                            print(f"{n:>7} docs  filter={name:<10} p50 {statistics.median(lat):6.1f} ms  p95 "
                                  f"{percentile(lat, 95):6.1f} ms  the Library's search, the filter clicked on the "
                                  f"query's unfiltered page ({load()})", flush=True)
                # a need's full ranking (Ranker.match: every channel, hubness correction, re-score, evidence),
                # as the match flow runs it; the first pays the needs' collection statistics (kept until the
                # corpus changes), reported apart
                needs_here = min(n, CORPUS_NEEDS)
                need_ids = [f"syn-{i:07d}" for i in range(0, needs_here, max(1, needs_here // (args.needs + 1)))]
                need_ids = need_ids[: args.needs + 1]
                first_need, need_ms = float("nan"), []
                if args.needs:
                    t = time.perf_counter()
                    ranker.match(need_ids[0], limit=args.limit)
                    first_need = (time.perf_counter() - t) * 1000
                    for need_id in need_ids[1:]:
                        t = time.perf_counter()
                        ranker.match(need_id, limit=args.limit)
                        need_ms.append((time.perf_counter() - t) * 1000)
                after, after_anon = rss_mb(), rss_mb("RssAnon")
            need_p50 = statistics.median(need_ms) if need_ms else float("nan")
            need_p95 = percentile(need_ms, 95) if need_ms else float("nan")
            if need_ms:
                print(f"{n:>7} docs  a need's ranking: first {first_need:.0f} ms (collection statistics), then p50 "
                      f"{need_p50:.0f} ms, p95 {need_p95:.0f} ms ({len(need_ms)} needs; {load()})", flush=True)
            print(f"{n:>7} docs  ingest {ingest:.0f} s ({n / ingest:.0f} docs/s; nan: reused), disk {disk:.0f} MiB, "
                  f"RSS +{opened - before:.0f} MiB on open, +{after - before:.0f} MiB after queries (of which the process's "
                  f"own, not mapped files: +{opened_anon - before_anon:.0f} and +{after_anon - before_anon:.0f} MiB; "
                  f"{load()})", flush=True)
            sizes[n] = dict(disk=disk, rss_open=opened - before, rss_after=after - before,
                            anon_open=opened_anon - before_anon, anon_after=after_anon - before_anon,
                            need_p50=need_p50, need_p95=need_p95, need_first=first_need,
                            **{f"{name} p95": p95 for m, name, _, p95, _ in rows if m == n},
                            **{f"{name} library p95": p95 for m, name, _, p95, _ in library_rows if m == n})
        finally:
            if args.keep is None:
                shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(cache_dir, ignore_errors=True)
    print("\nsize     filter       p50 ms  p95 ms  (Ranker.search, the page)" + ("   library p50  p95 (IndexLibrary.search)"
                                                                          if library_rows else ""))
    library_at = {(n, name): (p50, p95) for n, name, p50, p95, _ in library_rows}
    clicked_at = {(n, name): (p50, p95) for n, name, p50, p95 in clicked_rows}
    for n, name, p50, p95, _ in rows:
        lib, clicked = library_at.get((n, name)), clicked_at.get((n, name))
        print(f"{n:<8} {name:<11} {p50:7.1f} {p95:7.1f}" + (f"{'':32}{lib[0]:7.1f} {lib[1]:7.1f}" if lib else "")
              + (f"   clicked {clicked[0]:7.1f} {clicked[1]:7.1f}" if clicked else ""))
    if clicked_rows:
        print("(clicked: the Library's search with the filter clicked on the page of the same query unfiltered)")
    if sizes:
        ns = sorted(sizes)
        metrics = [*(f"{name} p95" for name in filters),
                   *(f"{name} library p95" for name in filters if library_rows), "need_p50", "need_p95", "need_first", "disk", "rss_open",
                   "rss_after", "anon_open", "anon_after"]
        print(f"\n{'measure':<18}" + "".join(f"{n:>12}" for n in ns)
              + "".join(f"{f'x {b // 1000}k/{a // 1000}k':>14}" for a, b in zip(ns, ns[1:])))
        for m in metrics:
            print(f"{m:<18}" + "".join(f"{sizes[n][m]:12.1f}" for n in ns)
                  + "".join(f"{sizes[b][m] / max(sizes[a][m], 1e-9):14.2f}" for a, b in zip(ns, ns[1:])))
        print("(ms for searches and needs, MiB for disk and RSS growth of the process when the index is opened; "
              "anon: its own memory, without the pages of memory-mapped index files)")


if __name__ == "__main__":
    main()
