"""What the flows run: each function opens what it needs from settings, does one stage's work and closes.

Flows compose these; they never reach into the library's parts (index, enricher, ranker) themselves.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator

from domain.models import CrawlStats, Document, IngestStats, NeedMatches, SourceSpec
from domain.settings import CrawlSettings, IndexSettings, ReportSettings
from index.ledger import DUPLICATE_STAGE, Ledger


def open_ledger(settings: IndexSettings | None = None) -> Ledger:
    """The ledger (crawl runs, match history, report marks) at the configured path."""
    return Ledger((settings or IndexSettings()).ledger_path)


def plan_sources(sources: list[SourceSpec]) -> list[SourceSpec]:
    """`sources` with their `from-needs` query arguments filled in from the needs in the index
    (service.crawl_queries); sources without such arguments pass unchanged and open nothing."""
    from service.crawl_queries import NeedTerms, plan_sources as plan, wants_needs

    if not any(wants_needs(s) for s in sources):
        return list(sources)
    from service.index_library import open_library

    needs: list[NeedTerms] = []
    with open_library(read_only=True, command="flow plan-sources") as library:
        for need in library.needs():
            analysis = library.index.analysis_payload(need.id) or {}
            needs.append(NeedTerms(language=analysis.get("language") or need.language or "en",
                                   concepts=list(analysis.get("concepts", [])),
                                   keyphrases=list(analysis.get("keyphrases", []))))
        taxonomy = library.enricher.taxonomy
    return plan(sources, needs, taxonomy)


def record_crawl(stats: CrawlStats, run_id: str) -> None:
    open_ledger().record_crawl(stats, run_id)


# progress(stage, done, total): "documents" and "passages" (total 0: unknown) while enriching, "needs" while ranking
Progress = Callable[[str, int, int], None]

_progress_sink: Progress | None = None


@contextmanager
def progress_to(callback: Progress) -> Iterator[None]:
    """Stages run in this process report their progress to `callback` while the block runs (the CLI's bars;
    flows cannot take a callable parameter)."""
    global _progress_sink
    previous, _progress_sink = _progress_sink, callback
    try:
        yield
    finally:
        _progress_sink = previous


def report_progress(stage: str, done: int, total: int) -> None:
    if _progress_sink is not None:
        _progress_sink(stage, done, total)


def ingest_pending(progress: Progress | None = None, enrich_steps=None) -> list[IngestStats]:
    """Enrich and index every finished batch in the crawl inbox, oldest first; then make sure the query
    encoder (the model's ONNX export) exists, so later searches run without loading torch. `enrich_steps`
    runs the enrichment elsewhere: called once the index is open with whether this process's enricher encodes
    the multilingual sentence vectors for it (not for an index created without their storage,
    `Index.has_sentences`, nor with `SCOUT_NLP_MULTILINGUAL=off`), which the workers then follow, it returns the
    `index.ingest.EnrichSteps`; this process alone writes the index."""
    from index.ingest import ingest_inbox
    from service.index_library import open_library

    from domain.files import check_free_space
    from domain.settings import StorageSettings

    crawl_settings, minimum = CrawlSettings(), StorageSettings().min_free_bytes
    index_path = IndexSettings().resolved_path

    def check_space() -> None:
        for path in dict.fromkeys([crawl_settings.home, index_path]):
            check_free_space(path, minimum)

    check_space()  # before the index is even opened
    with open_library(command="flow enrich") as library:
        results = ingest_inbox(crawl_settings.inbox_dir, library.enricher, library.index,
                               rejects_path=crawl_settings.rejects_path, progress=progress or _progress_sink,
                               check_space=check_space,
                               enrich_steps=enrich_steps and enrich_steps(multilingual_on(library.enricher)))
        prepare_query_encoder(library.enricher)
    record_ingest_figures(results)
    return results


def record_ingest_figures(results: list[IngestStats], ledger: Ledger | None = None,
                          at: datetime | None = None) -> None:
    """Keep each batch's rejects and duplicates per source in the ledger, beside the crawls' figures: the weekly
    report then says how many of the crawls' new documents were content the index already held (the run's
    summary's "duplicates of indexed ones"), and counts the documents the enrichment rejected among the rejects
    (before, only the crawls' own rejects reached it)."""
    ledger = ledger or open_ledger()
    for stats in results:
        for source, counts in stats.by_source.items():
            for stage, count in (("index", counts.get("rejected", 0)), (DUPLICATE_STAGE, counts.get("duplicates", 0))):
                if count:
                    ledger.record_rejects_count(f"ingest:{stats.batch}", source, count, stage=stage, at=at)


def multilingual_on(enricher) -> bool:
    """Whether `enricher` encodes the multilingual sentence vectors: not with `SCOUT_NLP_MULTILINGUAL=off`, nor once
    turned off for an index without their storage (`service.index_library.open_library` does so)."""
    return enricher.settings.multilingual != "off"


_worker_enricher = None
_worker_channel_off = False  # the worker's enricher had the multilingual channel turned off for a step's index
_worker_lock = threading.Lock()
_warm_up_stop = threading.Event()


def worker_enricher(warm: bool = False, multilingual: bool = True):
    """This worker process's one Enricher (a Dask worker's), made on first use; `warm`: its models loaded now
    (`Enricher.warm_up`, until `stop_warm_up`). A step that arrives while the warm-up loads waits for it rather
    than loading beside it. `multilingual=False`: the writer's index has no storage for the sentence vectors (or
    its channel is off), so none are encoded; a later step for an index that has it gets a fresh enricher (a
    cluster kept up for two indexes)."""
    global _worker_enricher, _worker_channel_off
    from nlp.pipeline import Enricher

    with _worker_lock:
        if _worker_enricher is not None and multilingual and _worker_channel_off:
            _worker_enricher, _worker_channel_off = None, False
        if _worker_enricher is None:
            _worker_enricher = Enricher()
            if warm:
                try:
                    _worker_enricher.warm_up(stop=_warm_up_stop.is_set)
                except Exception:  # noqa: BLE001 - the first step loads again, and fails where its rejects say why
                    logging.getLogger(__name__).warning("the enricher's warm-up failed", exc_info=True)
        if not multilingual and multilingual_on(_worker_enricher):
            _worker_enricher.turn_multilingual_off()
            _worker_channel_off = True
        return _worker_enricher


def stop_warm_up() -> None:
    """Before this worker closes: a warm-up still loading stops at its next part, and this returns once it has (a
    process that exits in the middle of loading a model aborts)."""
    _warm_up_stop.set()
    with _worker_lock:
        pass


def enrich_step(docs: list[Document], multilingual: bool = True):
    """One step of an enrich, in a worker process (a Dask worker): nlp and embeddings of `docs` with this
    process's one Enricher (`worker_enricher`), returned as `index.ingest.StepOutcome`. Opens no index;
    `multilingual`: whether the writer's enricher encodes the sentence vectors (`ingest_pending`)."""
    from index.ingest import enrich_step as enrich

    return enrich(worker_enricher(multilingual=multilingual), docs)


def prepare_query_encoder(enricher) -> None:
    """Export and check the query encoder once, while the model is loaded anyway (a no-op for other embedders)."""
    from nlp.pipeline import past_cache

    embedder = past_cache(enricher.embedder)  # under the embedding cache
    prepare = getattr(embedder, "prepare_query_encoder", None)
    if callable(prepare) and getattr(embedder, "model_loaded", False):
        try:
            prepare()
        except Exception as exc:  # noqa: BLE001 - queries then load the model; ingest itself succeeded
            logging.getLogger(__name__).warning("the ONNX query encoder could not be prepared: %s", exc)


def rank_all_needs(limit: int = 20, progress: Progress | None = None) -> list[NeedMatches]:
    """Rank every need; each match says whether it is new since the last match run."""
    from index.matching import match_all_needs
    from service.index_library import open_library

    with open_library(command="flow match") as library:
        _, results = match_all_needs(library.ranker, library.index, open_ledger(), limit=limit,
                                     progress=progress or _progress_sink, feedback_for=library.feedback_for)
    return results


def build_weekly_report(week: str | None = None, profile: str | None = None,
                        recipients: list[str] | None = None):
    """Build (compute only, nothing sent) the report of `week` for `profile`; returns (report, profile, settings)."""
    from service.index_library import open_library
    from service.report.build import build_report
    from service.report.profiles import resolve_profile
    from service.watch import attach_watchlist_news

    settings = ReportSettings(recipients=recipients) if recipients else ReportSettings()
    chosen = resolve_profile(profile, settings)
    with open_library(read_only=True) as library:
        report = build_report(open_ledger(), library, week=week, settings=settings, profile=chosen)
        attach_watchlist_news(report, library, watchlists=chosen.watchlists)
    return report, chosen, settings


def deliver_weekly_report(report, profile, settings: ReportSettings):
    """Write the report to the outbox and send it; SMTP retries with backoff live in `deliver` alone."""
    from service.report.send import deliver

    return deliver(report, settings, profile, open_ledger())


def evaluate_bench(bench_dir, **options):
    """Score the ranking on a benchmark directory (sbir-bench format) with the configured nlp stage, through a
    fresh temporary index and a fresh embedding cache beside it; `options` are `index.evaluate.evaluate`'s
    (baselines, progress, limit_needs, ...).

    Not the home's embedding cache: the int8 encoder's vectors depend on which texts share a run, and a cached
    vector is the one of the run that first embedded its text (a cross-lingual bench, an ingest, another eval), so
    the same code scored strict nDCG@10 0.9177 from scratch and 0.9162 on a cache another bench had filled. Each
    eval embeds every text in its own runs: the same code and benchmark give the same figures."""
    import tempfile
    from pathlib import Path

    from index.evaluate import evaluate
    from nlp.pipeline import Enricher

    with tempfile.TemporaryDirectory(prefix="scout-eval-cache-") as tmp:
        return evaluate(bench_dir, Enricher(cache_path=Path(tmp) / "embeddings.sqlite"), **options)
