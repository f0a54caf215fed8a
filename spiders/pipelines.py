"""Item pipelines: validate -> record rejects -> dedup against the crawl state -> write the batch.

Spiders yield `Document`s and `Reject`s; what leaves a crawl is
- `CrawlSettings.inbox_dir/<source>-<UTC timestamp>.jsonl`: the new and updated documents, one JSON
  object per line (`Document.model_dump_json()`), written as `.part`, fsynced and renamed at close;
- `CrawlSettings.rejects_path`: one `Reject` per line (source, url, reason, detail, at), appended;
- stats `dualscout/new|updated|unchanged|rejected|duplicate` and `dualscout/batch_path`.
The crawl state is committed only after the batch file is final (see `spiders.state`).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.exceptions import DropItem

from domain.files import private_dir, private_file
from domain.limits import bound_document, input_notes
from domain.models import Document, Reject
from domain.settings import CrawlSettings
from spiders.state import CrawlState

logger = logging.getLogger(__name__)

STATE_FILE = "state.sqlite"


def _source(spider: Spider) -> str:
    return getattr(spider, "source", None) or spider.name


class _Pipeline:
    crawler: Any

    @classmethod
    def from_crawler(cls, crawler):
        pipe = cls()
        pipe.crawler = crawler
        pipe.stats = crawler.stats
        pipe.settings = CrawlSettings()
        return pipe


class ValidatePipeline(_Pipeline):
    """A document without title or text, or anything that is not a Document/Reject, becomes a Reject.

    Documents are bounded here (`domain.limits`: an invalid URL is dropped, oversized text and fields are
    cut, each with a note in `meta`). For spiders whose documents are pages (`one_document_per_url`), a
    second document of the crawl with the same final URL as an earlier one (two feed items redirecting to
    one article) becomes a reject naming the first, rather than a silent drop or a duplicate.
    """

    def open_spider(self) -> None:
        self.first_by_url: dict[str, str] = {}

    def process_item(self, item: Any) -> Document | Reject:
        spider = self.crawler.spider
        if isinstance(item, Reject):
            return item
        if not isinstance(item, Document):
            return Reject(source=_source(spider), reason=f"not a Document: {type(item).__name__}")
        if not item.title.strip():
            return Reject(source=item.source, url=item.url, reason="empty title")
        if not item.text.strip():
            return Reject(source=item.source, url=item.url, reason="empty text")
        bounded = bound_document(item)
        if bounded is not item:
            self.stats.inc_value("dualscout/bounded")
            logger.info("%s %s: %s", item.source, item.id, "; ".join(input_notes(bounded)))
        try:
            bounded.model_dump_json()
        except ValueError as exc:  # e.g. a lone surrogate in a field: it could not be written to the batch
            return Reject(source=item.source, url=bounded.url or None,
                          reason=f"document cannot be stored: {str(exc).splitlines()[0][:200]}")
        unique = getattr(spider, "one_document_per_url", False) and bounded.url
        first = self.first_by_url.setdefault(bounded.url, bounded.id) if unique else bounded.id
        if first != bounded.id:
            return Reject(source=item.source, url=bounded.url,
                          reason=f"same article as document {first} (both lead to this URL)",
                          detail=f"source_id {bounded.source_id!r}")
        return bounded


class RejectsPipeline(_Pipeline):
    """Append each Reject to the rejects log (one JSON line, written in one call) and drop it."""

    def open_spider(self) -> None:
        path = self.settings.rejects_path
        self.file = open(private_file(path), "a", encoding="utf-8")

    def close_spider(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Reject):
            return item
        self.file.write(item.model_dump_json() + "\n")
        self.file.flush()
        self.stats.inc_value("dualscout/rejected")
        raise DropItem(f"rejected {item.url or ''}: {item.reason}", log_level="INFO")


class DedupPipeline(_Pipeline):
    """Classify by id and content hash against the crawl state: new / updated pass, unchanged are
    counted and dropped; a second copy of the same id within one crawl is dropped as a duplicate."""

    def open_spider(self) -> None:
        self.state = CrawlState(self.settings.data_dir / STATE_FILE)
        self.seen: set[str] = set()
        for key in ("new", "updated", "unchanged"):
            self.stats.set_value(f"dualscout/{key}", 0)

    def close_spider(self) -> None:
        self.state.close()

    def process_item(self, item: Document) -> Document:
        if item.id in self.seen:
            self.stats.inc_value("dualscout/duplicate")
            raise DropItem(f"duplicate {item.id} {item.url}", log_level="DEBUG")
        self.seen.add(item.id)
        known = self.state.lookup(item.id)
        if known is None:
            self.stats.inc_value("dualscout/new")
            return item
        known_hash, first_seen = known
        if known_hash == item.content_hash:
            self.stats.inc_value("dualscout/unchanged")
            raise DropItem(f"unchanged {item.url}", log_level="DEBUG")
        self.stats.inc_value("dualscout/updated")
        # An update keeps the time the document was first seen.
        return item.model_copy(update={"first_seen": datetime.fromisoformat(first_seen)})


class BatchWriterPipeline(_Pipeline):
    """Write the crawl's new and updated documents to one JSONL batch in the inbox.

    The file is `<name>.jsonl.part` while the crawl runs; at close it is fsynced and renamed, and only
    then are its documents recorded in the crawl state.
    """

    def open_spider(self) -> None:
        self.file = None
        self.part: Path | None = None
        self.written: list[Document] = []

    def _open(self) -> None:
        inbox = self.settings.inbox_dir
        private_dir(inbox)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        self.part = inbox / f"{_source(self.crawler.spider)}-{stamp}.jsonl.part"
        self.file = open(self.part, "x", encoding="utf-8")

    def process_item(self, item: Document) -> Document:
        if self.file is None:
            self._open()
        self.file.write(item.model_dump_json() + "\n")
        self.file.flush()  # whole lines on disk as we go: the .part shows progress
        self.written.append(item)
        return item

    def close_spider(self) -> None:
        if self.file is None:
            return
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        final = self.part.with_suffix("")  # drop ".part"
        os.replace(self.part, final)
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.stats.set_value("dualscout/batch_path", str(final))
        state = CrawlState(self.settings.data_dir / STATE_FILE)
        try:
            state.record(self.written, batch=final.name)
        finally:
            state.close()
        logger.info("wrote %d documents to %s", len(self.written), final)
