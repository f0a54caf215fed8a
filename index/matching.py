"""Rank every published need and record which matches are new since the last run."""

from __future__ import annotations

from typing import Callable

from domain.models import DocKind, NeedMatches


def match_all_needs(
    ranker,
    index,
    ledger,
    *,
    limit: int = 20,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[str, list[NeedMatches]]:
    """Returns the ledger's run id and, for each need, its ranked matches with `is_new` set.
    `progress("needs", done, total)` hears each need ranked."""
    run_id = ledger.start_match_run()
    results: list[NeedMatches] = []
    needs = list(index.documents(kind=DocKind.need))
    for need in needs:
        if progress:
            progress("needs", len(results), len(needs))
        ranked = ranker.match(need.id, limit=limit)
        new = {(m.need_id, m.doc_id) for m in ledger.record_matches(run_id, ranked.matches)}
        for match in ranked.matches:
            match.is_new = (match.need_id, match.doc_id) in new
        results.append(ranked)
    if progress:
        progress("needs", len(results), len(needs))
    return run_id, results
