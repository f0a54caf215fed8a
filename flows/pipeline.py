"""The daily pipeline: crawl every source, enrich what is new, rank every need.

If a source fails, the others' documents are still enriched and ranked; the pipeline then ends Failed, its
message naming the failed sources, with the same summary as a successful run (`status` says which failed).
"""

from __future__ import annotations

import uuid

from prefect import flow, task
from prefect.states import Failed

from flows.crawl import crawl
from flows.enrich import enrich
from flows.match import match
from domain.models import SourceSpec
from service import operations

# The production sources; prefect.yaml passes the same list (scouts override it there). Research queries
# marked `from-needs` are derived from the indexed needs before each crawl (service.crawl_queries).
PRTIMES_FEEDS = "https://prtimes.jp/technology.rdf,https://prtimes.jp/business.rdf"
DEFAULT_SOURCES = [
    SourceSpec(spider="arxiv", args={"categories": "cs.CV,cs.RO,eess.SP,quant-ph,physics.optics,cond-mat.mtrl-sci",
                                     "keywords": "from-needs:en", "max_queries": "12"}),
    SourceSpec(spider="openalex", args={"search": "from-needs:en", "max_queries": "6", "days": "7"}),
    SourceSpec(spider="jstage", args={"keyword": "from-needs:ja", "max_queries": "6"}),
    SourceSpec(spider="kaken", args={"kw": "from-needs:ja", "max_queries": "6"}, optional=True),
    SourceSpec(spider="feeds", args={"feeds": PRTIMES_FEEDS}),
    SourceSpec(spider="atla"),
    SourceSpec(spider="sbir_topics"),
    SourceSpec(spider="diu"),
    SourceSpec(spider="nato_diana"),
    SourceSpec(spider="needs_file"),
]


@task
def plan_sources(sources: list[SourceSpec]) -> list[SourceSpec]:
    """Compute task: fill the `from-needs` query arguments from the needs in the index."""
    return operations.plan_sources(sources)


@flow(name="pipeline", persist_result=True)  # it may return Failed(data=summary): see flows/crawl.py
def pipeline(sources: list[SourceSpec] | None = None, match_limit: int = 20):
    run_id = uuid.uuid4().hex
    crawl_state = crawl(plan_sources(sources or DEFAULT_SOURCES), run_id, return_state=True)
    crawled = crawl_state.result(raise_on_failure=False)
    if isinstance(crawled, BaseException):  # the crawl flow itself broke: nothing to enrich from this run
        raise crawled
    ingested = enrich()
    matched = match(match_limit)
    summary = {
        "run_id": run_id,
        "crawled": [s.model_dump(mode="json") for s in crawled["results"]],
        "status": crawled["status"],
        "sources": crawled["names"],
        "ingested": [s.model_dump(mode="json") for s in ingested],
        "needs": len(matched),
        "new_matches": sum(1 for r in matched for m in r.matches if m.is_new),
    }
    if crawl_state.is_failed():
        return Failed(message=crawl_state.message, data=summary)
    return summary
