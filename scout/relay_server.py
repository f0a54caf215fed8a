"""The server side of `scout.relay`: `scout serve` runs a relayed query command against its own library."""

from __future__ import annotations

import logging
import threading

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from scout.relay import LOCAL_OPTIONS, RELAYED, ROUTE, scout_environment

log = logging.getLogger(__name__)


class RelayedCommand(BaseModel):
    argv: list[str]
    environment: dict[str, str]
    tty: bool = False
    terminal: dict[str, str] = {}
    columns: int | None = None


def relay_router(library) -> APIRouter:
    """The route that runs a relayed command against `library`, one command at a time."""
    lock = threading.Lock()
    router = APIRouter()

    @router.post(ROUTE, include_in_schema=False)
    def run_command(command: RelayedCommand) -> dict:
        if not command.argv or command.argv[0] not in RELAYED or any(a in LOCAL_OPTIONS for a in command.argv):
            raise HTTPException(400, f"only {', '.join(sorted(RELAYED))} are relayed")
        if command.environment != scout_environment():
            raise HTTPException(409, "this server runs with other SCOUT_* settings")
        return run_here(command.argv, library, lock, tty=command.tty, terminal=command.terminal,
                        columns=command.columns)

    return router


def run_here(argv: list[str], library, lock, tty: bool = False, terminal: dict[str, str] | None = None,
             columns: int | None = None) -> dict:
    """Run one CLI command in this process against `library`; its output and exit status."""
    from typer.testing import CliRunner

    from scout.cli import app, error_lines
    from scout.commands._library import use_library

    env = {"COLUMNS": str(columns) if columns else "80", "NO_COLOR": None, "FORCE_COLOR": None, "TERM": None,
           "COLORTERM": None, **(terminal or {})}
    if tty and "NO_COLOR" not in (terminal or {}):
        env["FORCE_COLOR"] = "1"  # the client prints to a terminal: keep rich's colours
    with lock, use_library(library):  # CliRunner swaps the process' stdout: one command at a time
        result = CliRunner().invoke(app, argv, env=env, color=tty, catch_exceptions=True)
    stderr = result.stderr
    code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        log.error("relayed `scout %s` failed", " ".join(argv), exc_info=result.exc_info)
        lines = error_lines(result.exception) or [f"internal error ({type(result.exception).__name__}); "
                                                  "see the server log"]
        stderr += "".join(f"error: {line}\n" for line in lines)
        code = code or 1
    return {"exit_code": code, "stdout": result.stdout, "stderr": stderr}
