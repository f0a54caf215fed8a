"""Match flow: rank every need and record which matches are new since the last run."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from scout.models import NeedMatches


@task
def rank_all_needs(limit: int) -> list[NeedMatches]:
    from index.ledger import Ledger
    from index.matching import match_all_needs
    from index.rank import Ranker
    from index.store import Index
    from nlp.pipeline import Enricher
    from scout.settings import IndexSettings

    settings = IndexSettings()
    enricher = Enricher()
    with Index(settings, dim=enricher.embedder.dim) as index:
        ranker = Ranker(index, enricher)
        _, results = match_all_needs(ranker, index, Ledger(settings.ledger_path), limit=limit)
    return results


@flow(name="match")
def match(limit: int = 20) -> list[NeedMatches]:
    results = rank_all_needs(limit)
    table = [{"need": r.need.title[:60], "rank": m.rank, "score": round(m.score, 3), "title": m.title[:70],
              "organizations": ", ".join(m.organizations)[:50]}
             for r in results for m in r.matches if m.is_new][:100]
    create_table_artifact(table, key="new-matches", description="Top new matches")
    return results
