"""`scout config`: every setting, its environment variable, default and current value (secrets masked)."""

from __future__ import annotations

import json
from typing import Any

import typer
from pydantic import SecretStr
from rich.table import Table

from rich.markup import escape

from scout.commands._console import make_console

WIDE_TERMINAL = 140  # columns from which `scout config` also shows each default
CONCERNS = ("StorageSettings", "CrawlSettings", "NlpSettings", "EnrichSettings", "IndexSettings", "ReportSettings", "WebSettings", "AnalystSettings")


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "***" if value.get_secret_value() else ""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def settings_rows(current: bool = True) -> list[tuple[str, str, str, str, str]]:
    """(concern, ENV_VAR, default, current, description) for every setting."""
    import domain.settings as settings_module

    rows = [("home", "SCOUT_HOME", "./var", str(settings_module.scout_home()) if current else "",
             "Where dualscout keeps its state (index, crawl state, inbox, ledger, outbox).")]
    for name in CONCERNS:
        cls = getattr(settings_module, name)
        prefix = cls.model_config["env_prefix"]
        instance = cls() if current else None
        for field_name, field in cls.model_fields.items():
            default = field.get_default(call_default_factory=True)
            rows.append((name.removesuffix("Settings").lower(), f"{prefix}{field_name}".upper(), _shown(default),
                         _shown(getattr(instance, field_name)) if instance is not None else "",
                         field.description or ""))
    return rows


def markdown_table() -> str:
    lines = ["| variable | default | what it does |", "|---|---|---|"]
    for _, env, default, _, description in settings_rows(current=False):
        shown_default = f"`{default}`" if default else ""
        lines.append(f"| `{env}` | {shown_default} | {description.replace('|', '/')} |")
    return "\n".join(lines)


def config(markdown: bool = typer.Option(False, "--markdown", help="Print the README's configuration table.")) -> None:
    """Show every setting: its SCOUT_* environment variable, default and current value (secrets as ***).

    Example: SCOUT_INDEX_BACKEND=server scout config
    """
    if markdown:
        typer.echo(markdown_table())
        return
    out = make_console()
    rows = settings_rows()
    # A variable name is never split: its column is as wide as the longest name. A terminal too narrow for the
    # defaults too shows the current values, bold where they differ from the default.
    wide = out.width >= WIDE_TERMINAL
    table = Table(title="dualscout settings", expand=True,
                  caption=None if wide else "bold: not the default (scout config --markdown lists the defaults)")
    table.add_column("variable", no_wrap=True, min_width=max(len(r[1]) for r in rows))
    if wide:
        table.add_column("default", overflow="fold", ratio=1)
    table.add_column("current", overflow="fold", ratio=1)
    table.add_column("what it does", overflow="fold", ratio=2)
    for _, env, default, value, description in rows:
        shown_value = f"[bold]{escape(value)}[/]" if value != default else escape(value)
        table.add_row(*([env, escape(default)] if wide else [env]), shown_value, escape(description))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("config")(config)
