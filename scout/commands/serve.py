"""`scout serve`: the web app and JSON API over the index, on loopback unless a token protects it."""

from __future__ import annotations

import logging
import threading
from typing import Optional

import typer


def check_bind(host: str, token: str | None, has_users: bool = False) -> None:
    """Refuse a non-loopback bind that no token protects: the index is not for the whole network to read.
    Named users (`scout users add`) protect it as SCOUT_WEB_TOKEN does."""
    from scout.web.text import is_loopback

    if not is_loopback(host) and not token and not has_users:
        raise typer.BadParameter(
            f"binding to {host} exposes the index beyond this machine; add users (`scout users add NAME`) or set "
            "SCOUT_WEB_TOKEN (e.g. `export SCOUT_WEB_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')`) "
            "or bind to 127.0.0.1",
            param_hint="--host",
        )


def check_token(token: str | None) -> None:
    """Refuse a blank, short or predictable SCOUT_WEB_TOKEN: a weak token is worse than none, since it is trusted."""
    from scout.commands._console import fail
    from scout.web.security import token_problem

    problem = token_problem(token) if token is not None else None
    if problem:
        fail(f"SCOUT_WEB_TOKEN refused: {problem}; generate one with "
             "`python -c 'import secrets; print(secrets.token_urlsafe(32))'` (or unset it on loopback)", code=2)


def warm_up_then_settle(library: object) -> None:
    """Load the query models and warm the index up now (the library's `warm_up`), then settle the heap
    (`domain.heap`): from then on the cycle collector no longer visits what this process keeps, which made about
    one search in twelve 100 ms slower. A warm-up that fails is logged; the first query then loads what it
    needs, as without it."""
    from domain.heap import settle_heap

    warm = getattr(library, "warm_up", None)
    try:
        if callable(warm):
            warm()
    except Exception:  # noqa: BLE001 - an optimization: a failing model shows again, in the query that needs it
        logging.getLogger(__name__).warning("the search warm-up failed", exc_info=True)
    settle_heap()


# How often `scout serve` asks its library whether the corpus changed (a crawl's documents) and, if so, computes
# the figures every need page uses again (`refresh_figures`), so that the first need page after a crawl does not.
REFRESH_EVERY = 60.0


def refresh_figures_forever(library: object, every: float = REFRESH_EVERY,
                            stop: threading.Event | None = None) -> None:
    """`library.refresh_figures()` every `every` seconds until `stop` is set; a failure is logged and tried again
    at the next turn (the need page that needs the figure computes it then, as without this)."""
    refresh = getattr(library, "refresh_figures", None)
    stop = stop or threading.Event()
    while callable(refresh) and not stop.wait(every):
        try:
            refresh()
        except Exception:  # noqa: BLE001 - an optimization, as the warm-up
            logging.getLogger(__name__).warning("refreshing the need pages' figures failed", exc_info=True)


def serve(
    host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default SCOUT_WEB_HOST or 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, help="Port (default SCOUT_WEB_PORT or 8700)."),
    wait: float = typer.Option(600, "--wait", min=0, help="Seconds to wait for a flow that holds the index to finish."),
) -> None:
    """Serve the search pages, need pages and JSON API (docs at /docs).

    Any bind other than loopback needs named users (scout users add) or SCOUT_WEB_TOKEN; then every route asks
    for a token (Authorization: Bearer, or ?token= once in a browser), and only analysts may judge and watch.

    Example: scout serve --port 8700
    """
    from domain.settings import WebSettings

    settings = WebSettings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    token = settings.token.get_secret_value() if settings.token is not None else None
    check_token(token)
    from service.analyst import open_analyst_store

    try:
        analyst = open_analyst_store()
    except Exception as exc:  # noqa: BLE001 - a bad URL or an unreachable database server: one line
        typer.echo(f"error: cannot open the analyst database: {(str(exc).splitlines() or [type(exc).__name__])[0]}", err=True)
        raise typer.Exit(1) from None
    check_bind(settings.host, token, analyst.has_users())

    from scout.commands._console import fail
    from scout.commands._library import LibraryUnavailable, get_library, use_library

    # A flow that holds the embedded index (while no server runs) finishes its batch and lets go: wait for it
    # rather than fail. Once `scout serve` owns the index, flows write through it and never hold it themselves.
    try:
        library = get_library(read_only=True, wait=wait)
    except LibraryUnavailable as exc:
        fail(str(exc))

    import uvicorn

    from scout.web.app import create_app

    app = create_app(library, settings, analyst)
    # where processes on this machine reach the server: flows writing through the shard, the CLI's queries
    local = "127.0.0.1" if settings.host in ("0.0.0.0", "localhost", "127.0.0.1") else settings.host
    local_url = f"http://{f'[{local}]' if ':' in local else local}:{settings.port}"
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    from scout.relay_server import command_runner
    from scout.web.text import is_loopback
    from service.index_library import owner_endpoint

    gated = bool(token) or analyst.has_users() or not is_loopback(settings.host)  # beyond loopback: always
    typer.echo(f"dualscout on http://{shown}:{settings.port}/" + ("  (token required)" if gated else ""), err=True)

    stopping = threading.Event()  # set at shutdown: no refresh of the figures starts after it

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started:
                # Listening now: when this process owns the embedded index, serve it to the others (flows
                # writing, the CLI's queries) at the owner endpoint, advertised in the index's discovery file
                # (index.owner). Nobody can call the endpoint before that file names it and its token.
                owner = owner_endpoint(library, local_url, command_runner())
                if owner is not None:
                    app.include_router(owner)
                def warm_up_then_refresh(served: object = app.state.library) -> None:
                    warm_up_then_settle(served)
                    refresh_figures_forever(served, stop=stopping)

                threading.Thread(target=warm_up_then_refresh, name="warm-up", daemon=True).start()

        async def shutdown(self, sockets=None) -> None:
            # here, not only after run(): uvicorn re-raises a SIGTERM once it has shut down, ending the process
            stopping.set()
            await super().shutdown(sockets)
            close = getattr(library, "close", None)
            if callable(close):
                close()

    try:
        with use_library(app.state.library):  # the commands it runs for the CLI use this library
            _Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                                   server_header=False)).run()
    finally:
        close = getattr(library, "close", None)
        if callable(close):
            close()  # closing twice is harmless


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
