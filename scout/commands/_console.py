"""Shared console and clean-error helper for the CLI commands."""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any, NoReturn

import typer
from rich.console import Console

# Concepts and areas as every face names them: the one rule, here for the commands
from service.labels import area_label, concept_label  # noqa: F401

console = Console()
err_console = Console(stderr=True)

# The terminal of a client whose command this process runs for it (`scout.relay_server`): its width, whether it
# is a terminal and its colours. None: the command prints to this process' own terminal.
relayed_terminal: ContextVar[Any] = ContextVar("relayed_terminal", default=None)


def make_console(stderr: bool = False, **options: Any) -> Console:
    """A console for one command's output: this process' terminal, or the relaying client's (never the
    server's own environment: its COLUMNS, NO_COLOR or TERM do not shape a client's output)."""
    terminal = relayed_terminal.get()
    if terminal is None:
        return Console(stderr=stderr, **options)
    colours = terminal.colour != "none"
    return Console(stderr=stderr, width=terminal.columns or 80, force_terminal=terminal.tty,
                   color_system=(terminal.colour if colours else "standard") if terminal.tty else None,
                   no_color=not colours, _environ={}, **options)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """"1 match", "2 matches": a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clean line (no traceback) and exit with `code`."""
    make_console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON, non-ASCII (Japanese) as written."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def shortened(text: str, n: int = 70) -> str:
    """`text` on one line, cut to `n` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def cell(text: str, n: int = 70) -> str:
    """Crawled or typed text for a rich table cell: cut to `n` characters with an ellipsis (a title cut short had
    read as a whole one: "Hybrid Model for Anomaly Detection on Call Detail Records by"), its brackets shown as
    written, never read as markup (a note "check the [draft] terms" had lost "[draft]", and "[/x]" stopped the
    command)."""
    from rich.markup import escape

    return escape(shortened(text or "", n))
