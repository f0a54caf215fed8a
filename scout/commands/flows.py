"""`scout run` and `scout schedule`: the Prefect flows from the command line."""

from __future__ import annotations

import time

import typer

from scout.commands._console import console, fail

#: set in the child of `scout run`'s supervisor (see domain.processes.supervise)
SUPERVISED = "SCOUT_RUN_SUPERVISED"


FLOWS = ("pipeline", "crawl", "enrich", "match", "report")
LOCAL_WORKER_LIMIT = 3
# flows that open the embedded index (checked before any work starts)
NEEDS_INDEX = ("pipeline", "enrich", "match", "report")


def run(
    flow: str = typer.Argument("pipeline", help="pipeline | crawl | enrich | match | report"),
) -> None:
    """Run one flow now, against a Prefect API server started here (or PREFECT_API_URL when set).

    Long stages show progress bars; the run ends with its summary as tables. The exit status is 1 when the
    flow failed (e.g. a source could not be crawled; the other sources still ran).

    Example: scout run enrich
    """
    if flow not in FLOWS:
        fail(f"unknown flow {flow!r}; choose {', '.join(FLOWS)}", code=2)
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
    from scout.commands._runs import check_index_free, prefect_api, print_summary, quiet_prefect_console, stage_progress

    if flow in NEEDS_INDEX:
        check_index_free(console)  # a locked index: one line now, not a Prefect traceback later
    quiet_prefect_console()
    from domain.models import SourceSpec  # noqa: F401  (flows take SourceSpec parameters)

    if flow == "pipeline":
        from flows.pipeline import pipeline as target
    elif flow == "crawl":
        from flows.crawl import crawl as crawl_flow
        from flows.pipeline import DEFAULT_SOURCES
        from service.operations import plan_sources

        def target(return_state: bool = False):
            return crawl_flow(plan_sources(DEFAULT_SOURCES), return_state=return_state)
    elif flow == "enrich":
        from flows.enrich import enrich as target
    elif flow == "match":
        from flows.match import match as target
    else:
        from flows.report import weekly_report as target
    started = time.monotonic()
    try:
        with termination_raises(), prefect_api(console), stage_progress(console):
            state = target(return_state=True)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - one line here; Prefect's run log keeps the traceback
        _raise_clean(exc)
        fail(f"{flow} failed: {' '.join(str(exc).split())[:500] or type(exc).__name__}")
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        _raise_clean(result)
        fail(f"{flow} failed: {(str(result).splitlines() or [type(result).__name__])[0]}")
    print_summary(console, flow, result)
    if state.is_failed():
        fail(f"{flow} failed after {time.monotonic() - started:.0f} s: {state.message}")
    console.print(f"[green]{flow} finished[/] in {time.monotonic() - started:.0f} s")


def _raise_clean(exc: BaseException) -> None:
    """Errors `scout.cli.main` prints as one line (bad settings, a locked index) are re-raised as they are."""
    from domain.settings import explain_settings_error

    if explain_settings_error(exc) or type(exc).__name__ == "IndexLockedError":
        raise exc


def _interrupt_on_sigterm() -> None:
    """SIGTERM stops `scout schedule` like Ctrl-C does: every `finally` runs and the children are stopped."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def schedule(
    port: int = typer.Option(4200, help="Port of the local Prefect server (bound to 127.0.0.1)."),
    deploy_only: bool = typer.Option(False, "--deploy-only", help="Deploy and exit; start no worker."),
) -> None:
    """Start a local Prefect server, deploy prefect.yaml (daily pipeline, weekly report) and run a worker.

    Open the Prefect UI at http://127.0.0.1:PORT to see scheduled runs. The server and the worker run in
    this command's process group; Ctrl-C or SIGTERM stops all of them (within 10 s). One `scout schedule`
    runs per SCOUT_HOME.

    Example: scout schedule --port 4200
    """
    from scout.scheduler import (
        ScheduleLock, ScheduleRunning, deploy_all, local_server, port_in_use, start_worker,
    )
    from domain.files import private_dir
    from domain.settings import scout_home

    home = scout_home()
    private_dir(home)
    lock = ScheduleLock(home)
    try:
        lock.acquire(port)
    except ScheduleRunning as exc:
        fail(str(exc))
    _interrupt_on_sigterm()
    worker = None
    stopped_with_server: list = []  # the worker: stopped together with the server
    try:
        with console.status(f"starting the Prefect server on 127.0.0.1:{port} (log: {home / 'prefect-server.log'})…"):
            server = local_server(port, home, new_session=False, stop_with=stopped_with_server)
            env = server.__enter__()
        try:
            with console.status("deploying prefect.yaml…"):
                deploy_all(env)
            console.print("[green]deployed[/]: daily pipeline (06:00 Asia/Tokyo), weekly report (Mon 08:00 Asia/Tokyo)")
            console.print(f"Prefect UI: [bold]http://127.0.0.1:{port}[/]")
            if deploy_only:
                return
            # three flow runs at once: the daily pipeline and two of its sources' crawls (each a process of its own)
            worker = start_worker(env, home / "prefect-worker.log", new_session=False, limit=LOCAL_WORKER_LIMIT)
            stopped_with_server.append(worker)
            console.print(f"worker started (log: {home / 'prefect-worker.log'}); Ctrl-C stops server and worker")
            while worker.poll() is None:
                time.sleep(0.5)
            # Ctrl-C in the terminal reaches the whole group: the worker may end (and log that the server it was
            # still starting against is gone) before this process hears its own SIGINT. A stop, not a failure,
            # when the server went too.
            time.sleep(2.0)
            if not port_in_use(port):
                console.print("the worker and the Prefect server were stopped")
                return
            fail(f"the worker exited with code {worker.returncode}; see {home / 'prefect-worker.log'}")
        except KeyboardInterrupt:
            console.print("stopping the worker and the Prefect server…")
        finally:
            server.__exit__(None, None, None)  # the server and the worker, in one grace period
    except KeyboardInterrupt:  # stopped while the server was starting
        console.print("stopped")
    except typer.Exit:  # fail() above (click's Exit is a RuntimeError too)
        raise
    except (RuntimeError, TimeoutError) as exc:  # the port is taken, the server did not start, deploy failed
        fail(str(exc))
    finally:
        lock.release()


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("schedule")(schedule)
