"""What `scout run` and `scout demo` share around a flow run: Prefect's server started and waited for, the
index checked before minutes of work, progress bars for the long stages and the run's summary as tables."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

from rich.console import Console
from rich.table import Table

from scout.commands._console import counted

# What each progress stage is called on screen; total 0 means "not known in advance" (a counter, no bar).
STAGES = {
    "sources": "sources crawled",
    "documents": "documents enriched",
    "passages": "passages embedded",
    "needs": "needs ranked",
}


def quiet_prefect_console() -> None:
    """Prefect's INFO lines would scroll the progress bars away: its console shows warnings and errors only
    (the Prefect UI still gets every log line). Must run before Prefect is imported; the user's setting wins."""
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


def check_index_free(console: Console) -> None:
    """A flow that needs the embedded index fails at once, in one line naming the owner, if another process
    holds it without serving it (with `scout serve` running, flows write through the server)."""
    from domain.settings import IndexSettings
    from index.lock import IndexLockedError, OwnerLock

    settings = IndexSettings()
    if settings.backend == "server":
        return
    lock = OwnerLock(settings.resolved_path, command="scout run (checking the index)")
    try:
        lock.acquire()
    except IndexLockedError:
        from index.owner import find_owner

        owner = find_owner(settings.resolved_path)
        if owner is None:
            raise
        console.print(f"the index is served by another process ({owner.endpoint}): writing through it")
        return
    lock.release()


@contextmanager
def prefect_api(console: Console) -> Iterator[None]:
    """Prefect's API server for flows run here, started and waited for (see scout.scheduler.flow_server),
    with a spinner saying what is happening meanwhile."""
    from domain.settings import scout_home
    from scout.scheduler import flow_server

    spinner = console.status("starting Prefect's API server…")
    spinner.start()
    try:
        with flow_server(scout_home(), status=spinner.update) as url:
            spinner.stop()
            if url:
                console.print(f"[dim]Prefect's API server is up on {url}[/]")
            yield
    finally:
        spinner.stop()


@contextmanager
def stage_progress(console: Console) -> Iterator[None]:
    """Rich progress bars for the stages that report through `service.operations.progress_to`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from service import operations

    with Progress(SpinnerColumn(), TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        tasks: dict[str, Any] = {}

        def finish_counters() -> None:
            # A counter (no total known in advance) is done when a later stage starts or the run ends: it then
            # shows its count as the total, and its spinner and clock stop, rather than "809/?" still turning.
            for task in progress.tasks:
                if task.total is None:
                    progress.update(task.id, total=task.completed)

        def report(stage: str, done: int, total: int) -> None:
            label = STAGES.get(stage, stage)
            if stage not in tasks:
                finish_counters()
                tasks[stage] = progress.add_task(label, total=total or None)
            progress.update(tasks[stage], completed=done, total=total or None)

        try:
            with operations.progress_to(report):
                yield
        finally:
            finish_counters()


def crawl_table(crawled: list[dict], status: dict[str, str], names: list[str] | None = None) -> Table:
    table = Table(title="crawl", title_justify="left")
    for column in ("source", "status", "fetched", "new", "updated", "unchanged", "rejected"):
        table.add_column(column, justify="left" if column in ("source", "status") else "right",
                         overflow="fold")
    for name, s in zip(names or [s["source"] for s in crawled], crawled):
        outcome = status.get(name, "ok")
        shown = f"[red]{outcome}[/]" if outcome.startswith("failed") else (
            f"[yellow]{outcome}[/]" if outcome == "skipped" else f"[green]{outcome}[/]")
        table.add_row(name, shown, *(str(s[c]) for c in ("fetched", "new", "updated", "unchanged", "rejected")))
    return table


def ingest_table(ingested: list[dict]) -> Table:
    table = Table(title="enrich", title_justify="left")
    for column in ("batch", "documents", "new", "updated", "unchanged", "rejected", "passages embedded"):
        table.add_column(column, justify="left" if column == "batch" else "right")
    for s in ingested:
        table.add_row(s["batch"], *(str(s[c]) for c in ("documents", "new", "updated", "unchanged", "rejected",
                                                       "passages_embedded")))
    return table


def totals(summary: dict) -> dict[str, int]:
    """The run in five numbers: crawled / new / rejected / embedded / matches."""
    crawled, ingested = summary.get("crawled", []), summary.get("ingested", [])
    return {
        "crawled": sum(s.get("fetched", 0) for s in crawled),
        "new": sum(s.get("new", 0) + s.get("updated", 0) for s in ingested),
        "rejected": sum(s.get("rejected", 0) for s in crawled) + sum(s.get("rejected", 0) for s in ingested),
        "embedded": sum(s.get("passages_embedded", 0) for s in ingested),
        "matches": summary.get("new_matches", 0),
    }


def totals_line(summary: dict) -> str:
    t = totals(summary)
    # documents read but not indexed again, so that the crawls' count (the weekly report's) adds up: unchanged
    # (read again with the same content) and duplicates (a new id for content indexed under another id)
    ingested = summary.get("ingested", [])
    unchanged, duplicates = (sum(s.get(k, 0) for s in ingested) for k in ("unchanged", "duplicates"))
    kept = ", ".join([*([f"{unchanged} unchanged"] if unchanged else []),
                      *([f"{duplicates} duplicate{'s' if duplicates != 1 else ''} of indexed ones"] if duplicates else [])])
    kept = f" ({kept})" if kept else ""
    return (f"crawled {t['crawled']} pages · {t['new']} new or updated documents{kept} · {t['rejected']} rejected · "
            f"{t['embedded']} passages embedded · {t['matches']} new matches")


def print_summary(console: Console, flow: str, result: Any) -> None:
    """A flow's result as tables (never a Python dict)."""
    if flow == "pipeline" and isinstance(result, dict):
        console.print(crawl_table(result.get("crawled", []), result.get("status", {}), result.get("sources")))
        if result.get("ingested"):
            console.print(ingest_table(result["ingested"]))
        console.print(f"{result.get('needs', 0)} needs ranked; {totals_line(result)}")
    elif flow == "crawl" and isinstance(result, dict):
        console.print(crawl_table([s.model_dump(mode="json") for s in result.get("results", [])],
                                  result.get("status", {}), result.get("names")))
    elif flow == "enrich" and isinstance(result, list):
        if result:
            console.print(ingest_table([s.model_dump(mode="json") for s in result]))
        else:
            console.print("nothing new in the inbox")
    elif flow == "match" and isinstance(result, list):
        table = Table(title=f"{counted(len(result), 'need')} ranked", title_justify="left")
        for column in ("need", "matches", "new", "best match", "score"):
            table.add_column(column, overflow="fold", justify="right" if column in ("matches", "new", "score") else "left")
        for r in result:
            best = r.matches[0] if r.matches else None
            table.add_row(r.need.title, str(len(r.matches)), str(sum(1 for m in r.matches if m.is_new)),
                          best.title if best else "", f"{best.score:.3f}" if best else "")
        console.print(table)
    elif flow == "report" and isinstance(result, dict):
        table = Table(title="weekly report", title_justify="left", show_header=False)
        table.add_column("", style="bold")
        table.add_column("", overflow="fold")
        for key in ("status", "eml", "html"):
            if key in result:
                table.add_row(key, str(result[key]))
        table.add_row("recipients", ", ".join(result.get("recipients", [])) or "(outbox only)")
        console.print(table)
    elif result is not None:
        console.print(str(result), highlight=False)
