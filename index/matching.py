"""Rank every published need and record which matches are new since the last run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from domain.models import DocKind, NeedMatches
from domain.orgs import publishers

if TYPE_CHECKING:
    from index.ledger import Ledger
    from index.ranking.feedback import Feedback
    from index.ranking import Ranker
    from index.store import Index


def match_all_needs(
    ranker: Ranker,
    index: Index,
    ledger: Ledger,
    *,
    limit: int = 20,
    progress: Callable[[str, int, int], None] | None = None,
    feedback_for: Callable[[str], Feedback | None] | None = None,
) -> tuple[str, list[NeedMatches]]:
    """Returns the ledger's run id and, for each need, its ranked matches with `is_new` set; `feedback_for`
    gives a need's judgements to its ranking. The needs' queries and judgements are read on this thread, their
    rankings run two at a time (`Ranker.in_threads`), the ledger records them here in the needs' order."""
    run_id = ledger.start_match_run()
    results: list[NeedMatches] = []
    needs = list(index.documents(kind=DocKind.need))
    issuers = publishers(needs)  # never "new" orgs

    def inputs():
        for need in needs:
            stored, q = ranker.need_input(need.id)
            yield stored, q, feedback_for(need.id) if feedback_for else None

    def rank(item) -> NeedMatches:
        need, q, feedback = item
        matches = ranker.matches_of(need, q, limit, feedback=feedback)
        return NeedMatches(need=need, matches=matches,
                           organizations=ranker.organizations(matches, issuers=need.organizations))

    if progress:  # ("needs", done, total)
        progress("needs", 0, len(needs))
    for ranked in ranker.in_threads(rank, inputs()):
        new = {(m.need_id, m.doc_id) for m in ledger.record_matches(run_id, ranked.matches, issuers)}
        for match in ranked.matches:
            match.is_new = (match.need_id, match.doc_id) in new
        results.append(ranked)
        if progress:
            progress("needs", len(results), len(needs))
    return run_id, results
