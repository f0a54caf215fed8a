"""`scout`: a thin CLI over the library. Each command group lives in `scout/commands/<name>.py`
and exposes `register(app)`; heavy libraries are imported inside the commands, never at start-up."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="scout",
    help="dualscout: find dual-use technology that answers published defense needs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

# Command modules, in the order their commands appear in `scout --help`.
COMMAND_MODULES: list[str] = ["search", "serve", "crawl", "eval", "report", "demo", "flows", "config", "analyst"]

for _name in COMMAND_MODULES:
    importlib.import_module(f"scout.commands.{_name}").register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
