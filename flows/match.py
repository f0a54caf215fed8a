"""Match flow: rank every need and record which matches are new since the last run."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from scout.models import NeedMatches


@task
def rank_all_needs(limit: int) -> list[NeedMatches]:
    from index.ledger import Ledger
    from index.matching import match_all_needs
    from scout.library_impl import open_library
    from scout.settings import IndexSettings

    with open_library(command="flow match") as library:
        _, results = match_all_needs(library.ranker, library.index, Ledger(IndexSettings().ledger_path), limit=limit)
    return results


@flow(name="match")
def match(limit: int = 20) -> list[NeedMatches]:
    results = rank_all_needs(limit)
    table = [{"need": r.need.title[:60], "rank": m.rank, "score": round(m.score, 3), "title": m.title[:70],
              "organizations": ", ".join(m.organizations)[:50]}
             for r in results for m in r.matches if m.is_new][:100]
    create_table_artifact(table, key="new-matches", description="Top new matches")
    return results
