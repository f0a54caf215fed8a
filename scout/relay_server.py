"""The owner's side of `scout.relay`: `scout serve` runs a relayed query command against its own library.

A relayed request carries the command line and what the client's terminal really has (`Terminal`: width,
whether it is a terminal, its colours), validated; never settings or environment: the client sends a command only
when its settings are the server's (the discovery file's digest, `index.owner`), and the command runs with the
server's. Commands run side by side: each one's output goes to its own buffers (`_RoutedStream`) and its console
follows its own client's terminal (`scout.commands._console.relayed_terminal`), so nothing process-wide is
swapped and a slow search does not hold up another client's `scout needs`.
"""

from __future__ import annotations

import io
import logging
import sys
from contextvars import ContextVar
from typing import Annotated, Literal

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from scout.relay import LOCAL_OPTIONS, MAX_ARGS, MAX_ARG_CHARS, RELAYED

log = logging.getLogger(__name__)


class Terminal(BaseModel):
    """What the client's terminal has, and nothing else."""

    model_config = ConfigDict(extra="forbid")

    tty: bool = False
    columns: int | None = Field(default=None, ge=20, le=1000)
    colour: Literal["none", "standard", "256", "truecolor"] = "none"


class RelayedCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    argv: list[Annotated[str, StringConstraints(max_length=MAX_ARG_CHARS)]] = Field(min_length=1,
                                                                                    max_length=MAX_ARGS)
    terminal: Terminal = Terminal()


_output: ContextVar[tuple[io.StringIO, io.StringIO] | None] = ContextVar("relayed_output", default=None)


class _RoutedStream:
    """`sys.stdout` / `sys.stderr` of a server that runs relayed commands: what a relayed command prints goes to
    that command's buffer; everything else to the real stream."""

    encoding = "utf-8"  # what click asks before it writes; the buffers are text
    errors = "strict"

    def __init__(self, real, which: int):
        self._real, self._which = real, which

    def _target(self):
        buffers = _output.get()
        return self._real if buffers is None else buffers[self._which]

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        if _output.get() is None:
            return self._real.isatty()
        from scout.commands._console import relayed_terminal

        terminal = relayed_terminal.get()
        return bool(terminal and terminal.tty)

    def __getattr__(self, name: str):
        return getattr(self._target(), name)


def _route_output() -> None:
    if not isinstance(sys.stdout, _RoutedStream):
        sys.stdout = _RoutedStream(sys.stdout, 0)
    if not isinstance(sys.stderr, _RoutedStream):
        sys.stderr = _RoutedStream(sys.stderr, 1)
    _typer_follows_the_client()


def _typer_follows_the_client() -> None:
    """Typer prints usage errors through its own rich console, sized from this process' environment: for a
    relayed command, size it (and colour it) for the client's terminal instead, as `make_console` does."""
    import typer.rich_utils as rich_utils

    if getattr(rich_utils._get_rich_console, "follows_the_client", False):
        return
    own = rich_utils._get_rich_console

    def console(stderr: bool = False):
        from rich.theme import Theme

        from scout.commands._console import make_console, relayed_terminal

        if relayed_terminal.get() is None:
            return own(stderr)
        theme = Theme({"option": rich_utils.STYLE_OPTION, "switch": rich_utils.STYLE_SWITCH,
                       "negative_option": rich_utils.STYLE_NEGATIVE_OPTION,
                       "negative_switch": rich_utils.STYLE_NEGATIVE_SWITCH, "types": rich_utils.STYLE_TYPES,
                       "types_sep": rich_utils.STYLE_TYPES_SEPARATOR, "usage": rich_utils.STYLE_USAGE})
        return make_console(stderr=stderr, theme=theme, highlighter=rich_utils.highlighter)

    console.follows_the_client = True  # type: ignore[attr-defined]
    rich_utils._get_rich_console = console


def command_runner():
    """The handler of the owner endpoint's `command` operation (`index.backends.owner_routes`): validates the
    request, runs the command in this process against the library `get_library()` gives here, and answers
    its output and exit status."""
    _route_output()

    def run(request: dict) -> dict:
        try:
            command = RelayedCommand.model_validate(request)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "request"
            raise HTTPException(422, f"bad relayed command: {where}: {first.get('msg')}") from None
        argv = command.argv
        if argv[0] not in RELAYED or any(a in LOCAL_OPTIONS for a in argv):
            raise HTTPException(400, f"only {', '.join(sorted(RELAYED))} are relayed")
        return run_here(argv, command.terminal)

    return run


def run_here(argv: list[str], terminal: Terminal | None = None) -> dict:
    """Run one CLI command in this process; its output and exit status."""
    from scout.cli import app, error_lines
    from scout.commands._console import relayed_terminal

    terminal = terminal or Terminal()
    out, err = io.StringIO(), io.StringIO()
    routed, shown = _output.set((out, err)), relayed_terminal.set(terminal)
    code: int = 0
    try:
        app(args=list(argv), prog_name="scout", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            err.write(exc.code + "\n")
    except Exception as exc:  # noqa: BLE001 - the client gets one line, the server log the traceback
        log.error("relayed `scout %s` failed", " ".join(argv), exc_info=True)
        lines = error_lines(exc) or [f"internal error ({type(exc).__name__}); see the server log"]
        err.write("".join(f"error: {line}\n" for line in lines))
        code = 2 if "is not valid" in lines[0] else 1  # as `scout.cli.main` exits
    finally:
        relayed_terminal.reset(shown)
        _output.reset(routed)
    return {"exit_code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
