"""`scout run` and `scout schedule`: the Prefect flows from the command line."""

from __future__ import annotations

import time

import typer

from scout.commands._console import console, fail

#: set in the child of `scout run`'s supervisor (see domain.processes.supervise)
SUPERVISED = "SCOUT_RUN_SUPERVISED"


def run(
    flow: str = typer.Argument("pipeline", help="pipeline | crawl | enrich | match | report"),
) -> None:
    """Run one flow now, in Prefect's ephemeral mode (or against PREFECT_API_URL when set).

    Example: scout run enrich
    """
    import os
    import sys

    from domain.processes import ended_by, supervise, termination_raises

    if os.environ.get(SUPERVISED) != "1" and os.name == "posix":
        # The flow runs in a child process group: whatever it starts (Prefect's server, crawls) is ended when it
        # ends, even by SIGKILL or SIGBUS, and such a death is reported instead of passing in silence.
        status = supervise([sys.executable, "-m", "scout", "run", flow], env={**os.environ, SUPERVISED: "1"})
        if status < 0:
            fail(f"{flow} was {ended_by(status)}; whatever it had started was stopped")
        raise typer.Exit(status)
    from domain.models import SourceSpec  # noqa: F401  (flows take SourceSpec parameters)

    if flow == "pipeline":
        from flows.pipeline import pipeline as target
    elif flow == "crawl":
        from flows.crawl import crawl as crawl_flow
        from flows.pipeline import DEFAULT_SOURCES
        from service.operations import plan_sources

        def target():
            return crawl_flow(plan_sources(DEFAULT_SOURCES))
    elif flow == "enrich":
        from flows.enrich import enrich as target
    elif flow == "match":
        from flows.match import match as target
    elif flow == "report":
        from flows.report import weekly_report as target
    else:
        fail(f"unknown flow {flow!r}; choose pipeline, crawl, enrich, match or report", code=2)
    started = time.monotonic()
    try:
        with termination_raises():
            result = target()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - one line here; Prefect's run log keeps the traceback
        fail(f"{flow} failed: {' '.join(str(exc).split())[:500] or type(exc).__name__}")
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
    from domain.processes import termination_raises

    console.print("starting the Prefect server on loopback…")
    with termination_raises(), local_server(port, home) as env:
        with console.status("deploying prefect.yaml…"):
            deploy_all(env)
        console.print("[green]deployed[/]: daily pipeline (06:00 Asia/Tokyo), weekly report (Mon 08:00 Asia/Tokyo)")
        console.print(f"Prefect UI: [bold]http://127.0.0.1:{port}[/]")
        if deploy_only:
            return
        worker = start_worker(env, home / "prefect-worker.log")
        console.print(f"worker started (log: {home / 'prefect-worker.log'}); Ctrl-C stops server and worker")
        try:
            with termination_raises():  # SIGTERM/SIGHUP too stop the worker and the server
                while worker.poll() is None:
                    time.sleep(1)
        except KeyboardInterrupt:
            return
        finally:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except Exception:  # noqa: BLE001 - it would not stop: no choice left
                    worker.kill()
        fail(f"the worker exited with code {worker.returncode}; see {home / 'prefect-worker.log'}")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("schedule")(schedule)
