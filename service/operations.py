"""What the flows run: each function opens what it needs from settings, does one stage's work and closes.

Flows compose these; they never reach into the library's parts (index, enricher, ranker) themselves.
"""

from __future__ import annotations

from typing import Callable

from domain.models import CrawlStats, IngestStats, NeedMatches, SourceSpec
from domain.settings import CrawlSettings, IndexSettings, ReportSettings
from index.ledger import Ledger


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


def ingest_pending(progress: Callable[[str], None] | None = None) -> list[IngestStats]:
    """Enrich and index every finished batch in the crawl inbox, oldest first."""
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
        return ingest_inbox(crawl_settings.inbox_dir, library.enricher, library.index,
                            rejects_path=crawl_settings.rejects_path, progress=progress, check_space=check_space)


def rank_all_needs(limit: int = 20, progress: Callable[[str], None] | None = None) -> list[NeedMatches]:
    """Rank every need; each match says whether it is new since the last match run."""
    from index.matching import match_all_needs
    from service.index_library import open_library

    with open_library(command="flow match") as library:
        _, results = match_all_needs(library.ranker, library.index, open_ledger(), limit=limit, progress=progress,
                                     feedback_for=library.feedback_for)
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
