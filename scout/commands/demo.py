"""`scout demo`: the main job on the embedded default, over the bundled public records."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from scout.commands._console import console, fail


def demo(
    needs_shown: int = typer.Option(3, "--needs-shown", help="Needs shown in detail (every need gets a row in the overview)."),
    top: int = typer.Option(5, "--top", help="Matches printed per need."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", hidden=True, exists=True, file_okay=False,
                                          help="Another demo bundle folder (tests run a slice of the bundled one)."),
) -> None:
    """Crawl the bundled demo sources on a loopback server, then extract, embed, index, rank and report.

    The real spiders, spaCy, the packaged embedding model and Qdrant Edge all run; state goes to
    $SCOUT_HOME (default ./var), so `scout search` answers from the same index afterwards.

    Example: scout demo --needs-shown 3
    """
    from scout.demo.run import run_demo

    started = time.monotonic()
    try:
        summary = run_demo(console=console, needs_shown=needs_shown, top=top,
                           **({"data_dir": bundle} if bundle is not None else {}))
    except Exception as exc:  # a clean one-line error, the log keeps the detail
        fail(f"demo failed: {exc}")
    if summary.get("failed"):
        fail(f"demo finished with a failed stage in {time.monotonic() - started:.0f} s: {summary['failed']}; "
             f"report: {summary['report']}")
    console.print(f"[bold green]demo finished[/] in {time.monotonic() - started:.0f} s; "
                  f"report: [bold]{summary['report']}[/]")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
