"""`scout`: a thin CLI over the library. Each command group lives in `scout/commands/<name>.py`
and exposes `register(app)`; heavy libraries are imported inside the commands, never at start-up."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Optional

import typer
from typer.core import TyperGroup

try:  # typer 0.2x carries its own click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - an older typer over click itself
    from click.exceptions import ClickException

from scout import __version__


def _flags_take_no_value() -> None:
    """Typer 0.2x writes a flag's type in the help as if it took a value ("--json <bool>"; a user who types
    `--json true` is refused on "true"): a flag shows none, an option that takes a value keeps its type."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_flags_bare", False):
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) and not getattr(self, "count", False) else shown(self, ctx)

    display_type_rich._flags_bare = True
    TyperOption.display_type_rich = display_type_rich


_flags_take_no_value()

class OneLineErrors(TyperGroup):
    """Usage errors (a bad option, a missing argument, a bad value) print as one line naming the fix, like
    every other error of the CLI, not as a boxed panel."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except ClickException as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ClickException as exc:
            raise _one_line(exc) from None


def _one_line(exc: ClickException) -> BaseException:
    """Print `exc` as one line; returns the Exit that ends the command with its exit code."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # the help text has been printed: not an error to show
        return exc
    from rich.markup import escape

    from scout.commands._console import err_console

    ctx = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    # pydantic's "Value error, " prefix, which Typer passes on for a choice it refuses, is no part of the message
    message = " ".join(exc.format_message().replace("Value error, ", "").split())
    err_console.print(f"[bold red]error:[/] {escape(message)}{escape(hint)}", highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


app = typer.Typer(
    name="scout",
    cls=OneLineErrors,
    help="dualscout: find dual-use technology that answers published defense needs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

# Command modules, in the order their commands appear in `scout --help`.
COMMAND_MODULES: list[str] = ["search", "serve", "crawl", "eval", "report", "demo", "flows", "config", "analyst"]

for _name in COMMAND_MODULES:
    importlib.import_module(f"scout.commands.{_name}").register(app)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"dualscout {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(None, "--version", callback=_print_version, is_eager=True,
                                           help="Print the version and exit."),
) -> None:
    # Every SCOUT_* value is read once before the command runs: a typo fails here, in one line, instead of
    # minutes later inside a flow.
    from domain.settings import check_settings

    check_settings()


def error_lines(exc: BaseException) -> list[str] | None:
    """The clean message for errors any command can hit (bad settings, a locked index), else None."""
    from domain.settings import explain_settings_error

    lines = explain_settings_error(exc)
    if lines:
        return lines
    if type(exc).__name__ in ("IndexLockedError", "PrefectServerError"):
        return [str(exc)]
    from domain.limits import InputRejected

    if isinstance(exc, InputRejected):  # a query too long, text that is not text
        return [str(exc)]
    return None


def main() -> None:
    try:
        app()
    except Exception as exc:
        lines = error_lines(exc) if not os.environ.get("SCOUT_DEBUG") else None
        if lines is None:
            raise
        from rich.markup import escape

        from scout.commands._console import err_console

        for line in lines:
            err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
        sys.exit(2 if "is not valid" in lines[0] else 1)


if __name__ == "__main__":
    main()
