"""Run one crawl in this process: `python -m spiders.crawl NAME [-a key=value ...] [--stats-json PATH]`.

This is the child process behind `spiders.runner.run_crawl` (Twisted's reactor cannot restart, so
every crawl gets a fresh process). It prints a one-line summary and, with `--stats-json`, writes
the `domain.models.CrawlStats` as JSON. Exit status 0 means the crawl ran to its end (rejects are not
failures); 2 means a usage error such as an unknown spider or spider argument; 1 means the crawl broke;
`EXIT_UNAVAILABLE` (3) means the source could not be crawled (every request failed) and `EXIT_NOT_CONFIGURED`
(4) that it lacks its credentials: a spider says so by closing with a reason `<what>_missing: <message>`
(e.g. `kaken_appid_missing`). With 3 and 4 the stats are still written.
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


EXIT_UNAVAILABLE = 3
EXIT_NOT_CONFIGURED = 4


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


def spider_arguments(spider_cls: type) -> list[str]:
    """The `-a` arguments a spider takes: the keyword parameters of `__init__` along its class hierarchy."""
    import inspect

    names: list[str] = []
    for klass in spider_cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.startswith("scrapy."):
            continue
        for param in inspect.signature(init).parameters.values():
            if param.name != "self" and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                if param.name not in names:
                    names.append(param.name)
    return sorted(names)


def check_spider_args(name: str, spider_cls: type, args: dict[str, Any]) -> None:
    """A typo (`-a qurey=radar`) is an error naming the arguments the spider does take, never ignored."""
    valid = spider_arguments(spider_cls)
    unknown = [key for key in args if key not in valid]
    if unknown:
        raise ValueError(f"spider {name!r} takes no argument {', '.join(map(repr, unknown))}; "
                         f"its arguments: {', '.join(valid) or 'none'}")


def unavailable(stats: dict[str, Any]) -> tuple[int, str] | None:
    """(exit status, reason) when the source could not be crawled at all, else None.

    Not configured: the spider closed itself with a `*_missing` reason. Unavailable: it sent requests and
    not one got a usable answer (2xx, or 304 revalidating the cache); robots.txt requests are not counted."""
    reason = str(stats.get("finish_reason") or "")
    if reason.split(":", 1)[0].endswith("_missing"):
        return EXIT_NOT_CONFIGURED, reason.split(":", 1)[-1].strip() or reason

    def answered(prefix: str) -> int:
        return sum(int(v) for k, v in stats.items() if k.startswith(prefix)
                   and (k.rsplit("/", 1)[-1].startswith("2") or k.endswith("/304")))

    attempted = int(stats.get("downloader/request_count", 0)) - int(stats.get("robotstxt/request_count", 0))
    ok = answered("downloader/response_status_count/") - answered("robotstxt/response_status_count/")
    if attempted > 0 and ok <= 0:
        return EXIT_UNAVAILABLE, f"every request failed ({attempted} sent, none answered with a page)"
    return None


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
    check_spider_args(name, crawler.spidercls, spider_args)
    task = process.crawl(crawler, **spider_args)
    process.start()
    if task.done() and not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        raise CrawlFailed(f"crawl {name!r} failed: {type(exc).__name__}: {exc}") from exc
    if crawler.stats is None or crawler.spider is None:
        raise CrawlFailed(f"crawl {name!r} did not start")
    source = getattr(crawler.spider, "source", name)
    raw = crawler.stats.get_stats()
    stats = stats_from_scrapy(source, raw, collector.messages)
    stats_unavailable[name] = unavailable(raw)
    return stats


# name -> (exit status, reason) of the last crawl() in this process when its source could not be crawled
stats_unavailable: dict[str, tuple[int, str] | None] = {}


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
    except ValueError as exc:  # an unknown spider argument
        print(f"error: {exc}", file=sys.stderr)
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
    failure = stats_unavailable.get(opts.spider)
    if failure is not None:
        code, reason = failure
        print(f"error: {stats.source}: {reason}", file=sys.stderr)
        return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
