"""Match flow: rank every need and record which matches are new since the last run."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from domain.models import NeedMatches
from service import operations


@task
def rank_all_needs(limit: int) -> list[NeedMatches]:
    return operations.rank_all_needs(limit)


@flow(name="match")
def match(limit: int = 20) -> list[NeedMatches]:
    results = rank_all_needs(limit)
    table = [{"need": r.need.title[:60], "rank": m.rank, "score": round(m.score, 3), "label": m.label, "title": m.title[:70],
              "organizations": ", ".join(m.organizations)[:50]}
             for r in results for m in r.matches if m.is_new][:100]
    create_table_artifact(table, key="new-matches", description="Top new matches")
    return results
