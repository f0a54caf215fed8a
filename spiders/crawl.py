"""Run one crawl in this process: `python -m spiders.crawl NAME [-a key=value ...] [--stats-json PATH]`.

This is the child process behind `spiders.runner.run_crawl` (Twisted's reactor cannot restart, so
every crawl gets a fresh process). It prints a one-line summary and, with `--stats-json`, writes
the `domain.models.CrawlStats` as JSON. Exit status 0 means the crawl ran to its end (rejects are not
failures); 2 means a usage error such as an unknown spider.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from domain.models import CrawlStats

SETTINGS_MODULE = "spiders.settings"


class CrawlFailed(RuntimeError):
    """The crawl could not run (bad spider argument, broken spider), as opposed to bad records."""


class _ErrorCollector(logging.Handler):
    """Keeps the first ERROR-level log messages of the crawl for `CrawlStats.errors`."""

    def __init__(self, limit: int = 20):
        super().__init__(level=logging.ERROR)
        self.limit = limit
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < self.limit:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string must not break the crawl
                message = str(record.msg)
            self.messages.append(f"{record.name}: {message.splitlines()[0][:300] if message else ''}")


def parse_spider_args(pairs: list[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"spider argument must look like key=value, got {pair!r}")
        args[key.strip()] = value
    return args


def stats_from_scrapy(source: str, stats: dict[str, Any], errors: list[str]) -> CrawlStats:
    errors = list(errors)
    reason = stats.get("finish_reason")
    if reason and reason != "finished":
        errors.insert(0, f"crawl ended early: {reason}")
    for key, value in stats.items():
        if key.startswith("spider_exceptions/"):
            errors.append(f"{value} x {key.removeprefix('spider_exceptions/')} in a spider callback")
    return CrawlStats(
        source=source,
        # responses the spider got (from the network or the HTTP cache), robots.txt not counted
        fetched=int(stats.get("response_received_count", 0)) - int(stats.get("robotstxt/response_count", 0)),
        new=int(stats.get("dualscout/new", 0)),
        updated=int(stats.get("dualscout/updated", 0)),
        unchanged=int(stats.get("dualscout/unchanged", 0)),
        rejected=int(stats.get("dualscout/rejected", 0)),
        errors=errors,
        notes=list(stats.get("dualscout/notes") or []),
        batch_path=stats.get("dualscout/batch_path"),
        started=_utc(stats.get("start_time")),
        finished=_utc(stats.get("finish_time")),
    )


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def crawl(name: str, spider_args: dict[str, str], overrides: dict[str, str] | None = None) -> CrawlStats:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    from scrapy.crawler import AsyncCrawlerProcess
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    process = AsyncCrawlerProcess(settings)
    collector = _ErrorCollector()
    logging.getLogger().addHandler(collector)
    crawler = process.create_crawler(name)  # KeyError for an unknown spider
    task = process.crawl(crawler, **spider_args)
    process.start()
    if task.done() and not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        raise CrawlFailed(f"crawl {name!r} failed: {type(exc).__name__}: {exc}") from exc
    if crawler.stats is None or crawler.spider is None:
        raise CrawlFailed(f"crawl {name!r} did not start")
    source = getattr(crawler.spider, "source", name)
    return stats_from_scrapy(source, crawler.stats.get_stats(), collector.messages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spiders.crawl", description=__doc__.splitlines()[0])
    parser.add_argument("spider", help="spider name (see `scrapy list`)")
    parser.add_argument("-a", dest="args", action="append", default=[], metavar="KEY=VALUE",
                        help="spider argument, e.g. -a base_url=http://127.0.0.1:8000 (repeatable)")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="Scrapy setting override (repeatable)")
    parser.add_argument("--stats-json", type=Path, help="write the CrawlStats JSON here")
    opts = parser.parse_args(argv)
    try:
        spider_args = parse_spider_args(opts.args)
        overrides = parse_spider_args(opts.settings)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        stats = crawl(opts.spider, spider_args, overrides)
    except KeyError:
        print(f"error: unknown spider {opts.spider!r}", file=sys.stderr)
        return 2
    except CrawlFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if opts.stats_json:
        opts.stats_json.write_text(stats.model_dump_json(indent=2), encoding="utf-8")
    print(
        f"{stats.source}: fetched {stats.fetched}, new {stats.new}, updated {stats.updated}, "
        f"unchanged {stats.unchanged}, rejected {stats.rejected}, batch {stats.batch_path or '-'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
