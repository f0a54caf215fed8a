"""Shared console and clean-error helper for the CLI commands."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clean line (no traceback) and exit with `code`."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON, non-ASCII (Japanese) as written."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
