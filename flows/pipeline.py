"""The daily pipeline: crawl every source, enrich what is new, rank every need."""

from __future__ import annotations

import uuid

from prefect import flow

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
def pipeline(sources: list[SourceSpec] | None = None, match_limit: int = 20) -> dict:
    run_id = uuid.uuid4().hex
    crawled = crawl(sources or DEFAULT_SOURCES, run_id)
    ingested = enrich()
    matched = match(match_limit)
    return {
        "run_id": run_id,
        "crawled": [s.model_dump(mode="json") for s in crawled],
        "ingested": [s.model_dump(mode="json") for s in ingested],
        "needs": len(matched),
        "new_matches": sum(1 for r in matched for m in r.matches if m.is_new),
    }
