"""The daily pipeline: crawl every source, enrich what is new, rank every need.

If a source fails, the others' documents are still enriched and ranked; the pipeline then ends Failed, its
message naming the failed sources, with the same summary as a successful run (`status` says which failed).
"""

from __future__ import annotations

import uuid

from prefect import flow
from prefect.states import Failed

from flows.crawl import crawl
from flows.enrich import enrich
from flows.match import match
from domain.models import SourceSpec

# The production sources; prefect.yaml passes these (and scouts override them there).
DEFAULT_SOURCES = [
    SourceSpec(spider="arxiv", args={"query": "cat:cs.CV OR cat:cs.RO OR cat:eess.SP OR cat:quant-ph"}),
    SourceSpec(spider="feeds"),
    SourceSpec(spider="sbir_topics"),
    SourceSpec(spider="needs_file"),
]


@flow(name="pipeline")
def pipeline(sources: list[SourceSpec] | None = None, match_limit: int = 20):
    run_id = uuid.uuid4().hex
    crawl_state = crawl(sources or DEFAULT_SOURCES, run_id, return_state=True)
    crawled = crawl_state.result(raise_on_failure=False)
    if isinstance(crawled, BaseException):  # the crawl flow itself broke: nothing to enrich from this run
        raise crawled
    ingested = enrich()
    matched = match(match_limit)
    summary = {
        "run_id": run_id,
        "crawled": [s.model_dump(mode="json") for s in crawled["results"]],
        "status": crawled["status"],
        "ingested": [s.model_dump(mode="json") for s in ingested],
        "needs": len(matched),
        "new_matches": sum(1 for r in matched for m in r.matches if m.is_new),
    }
    if crawl_state.is_failed():
        return Failed(message=crawl_state.message, data=summary)
    return summary
