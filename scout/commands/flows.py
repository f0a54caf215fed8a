"""`scout run` and `scout schedule`: the Prefect flows from the command line."""

from __future__ import annotations

import time

import typer

from scout.commands._console import console, fail


def run(
    flow: str = typer.Argument("pipeline", help="pipeline | crawl | enrich | match | report"),
) -> None:
    """Run one flow now, in Prefect's ephemeral mode (or against PREFECT_API_URL when set).

    Example: scout run enrich
    """
    from domain.models import SourceSpec  # noqa: F401  (flows take SourceSpec parameters)

    if flow == "pipeline":
        from flows.pipeline import pipeline as target
    elif flow == "crawl":
        from flows.crawl import crawl as crawl_flow
        from flows.pipeline import DEFAULT_SOURCES

        def target():
            return crawl_flow(DEFAULT_SOURCES)
    elif flow == "enrich":
        from flows.enrich import enrich as target
    elif flow == "match":
        from flows.match import match as target
    elif flow == "report":
        from flows.report import weekly_report as target
    else:
        fail(f"unknown flow {flow!r}; choose pipeline, crawl, enrich, match or report", code=2)
    started = time.monotonic()
    result = target()
    console.print(result if not isinstance(result, list) else f"{len(result)} results")
    console.print(f"[green]{flow} finished[/] in {time.monotonic() - started:.0f} s")


def schedule(
    port: int = typer.Option(4200, help="Port of the local Prefect server (bound to 127.0.0.1)."),
    deploy_only: bool = typer.Option(False, "--deploy-only", help="Deploy and exit; start no worker."),
) -> None:
    """Start a local Prefect server, deploy prefect.yaml (daily pipeline, weekly report) and run a worker.

    Open the Prefect UI at http://127.0.0.1:PORT to see scheduled runs. Stop with Ctrl-C.

    Example: scout schedule --port 4200
    """
    from scout.scheduler import deploy_all, local_server, start_worker
    from domain.files import private_dir
    from domain.settings import scout_home

    home = scout_home()
    private_dir(home)
    console.print("starting the Prefect server on loopback…")
    with local_server(port, home) as env:
        with console.status("deploying prefect.yaml…"):
            deploy_all(env)
        console.print("[green]deployed[/]: daily pipeline (06:00 Asia/Tokyo), weekly report (Mon 08:00 Asia/Tokyo)")
        console.print(f"Prefect UI: [bold]http://127.0.0.1:{port}[/]")
        if deploy_only:
            return
        worker = start_worker(env, home / "prefect-worker.log")
        console.print(f"worker started (log: {home / 'prefect-worker.log'}); Ctrl-C stops server and worker")
        try:
            while worker.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            worker.terminate()
            return
        fail(f"the worker exited with code {worker.returncode}; see {home / 'prefect-worker.log'}")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("schedule")(schedule)
