"""`scout crawl NAME`: run one spider (in its own process) and print what it found."""

from __future__ import annotations

import json
from typing import Optional

import typer

from scout.commands._console import fail
from domain.labels import source_label


def register(app: typer.Typer) -> None:
    @app.command(
        "crawl",
        epilog=(
            "Examples:\n\n"
            "  scout crawl arxiv -a categories=cs.RO,eess.SP -a keywords=radar\n\n"
            "  scout crawl feeds -a feeds=https://prtimes.jp/index.rdf\n\n"
            "  scout crawl needs_file -a path=needs.yaml"
        ),
    )
    def crawl(
        name: str = typer.Argument(..., help="Source to crawl, e.g. arxiv, feeds, sbir_topics, needs_file (an unknown name lists them all)."),
        arg: Optional[list[str]] = typer.Option(
            None, "-a", "--arg", metavar="KEY=VALUE",
            help="Spider argument, repeatable (e.g. -a base_url=http://127.0.0.1:8000).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the crawl stats as JSON."),
    ) -> None:
        """Crawl one source, in its own process.

        New and updated documents go to the inbox as a JSONL batch, bad records to the rejects log;
        unchanged ones are only counted. Polite by default (robots.txt, delays, retries with backoff);
        settings come from SCOUT_CRAWL_* variables."""
        from spiders.crawl import parse_spider_args
        from spiders.runner import CrawlError, SourceUnavailable, UnknownSpiderError, run_crawl

        try:
            spider_args = parse_spider_args(arg or [])
        except ValueError as exc:
            fail(str(exc), 2)
        failure: SourceUnavailable | None = None
        try:
            stats = run_crawl(name, **spider_args)
        except UnknownSpiderError as exc:
            fail(str(exc), 2)
        except SourceUnavailable as exc:  # the counts still show (rejects say why), then a non-zero exit
            stats, failure = exc.stats, exc
        except CrawlError as exc:
            fail(str(exc))
        except ValueError as exc:  # an argument the spider does not take
            fail(str(exc), 2)
        import uuid

        from service.operations import record_crawl

        record_crawl(stats, uuid.uuid4().hex)  # the weekly report's overview counts every crawl
        if as_json:
            typer.echo(json.dumps(stats.model_dump(mode="json"), ensure_ascii=False, indent=2))
            if failure is not None:
                fail(str(failure))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"crawl {source_label(stats.source)}", show_header=True)
        for column in ("fetched", "new", "updated", "unchanged", "rejected"):
            table.add_column(column, justify="right")
        table.add_row(*(str(getattr(stats, c)) for c in ("fetched", "new", "updated", "unchanged", "rejected")))
        console = Console()
        console.print(table)
        if stats.batch_path:
            console.print(f"batch: {stats.batch_path}")
        if stats.rejected:
            from domain.settings import CrawlSettings

            console.print(f"rejects: {CrawlSettings().rejects_path}")
        for error in stats.errors:
            console.print(f"[yellow]warning:[/] {error}", highlight=False)
        for note in stats.notes:
            console.print(f"note: {note}", markup=False)
        if failure is not None:
            fail(str(failure))
