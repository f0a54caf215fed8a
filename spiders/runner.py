"""Run crawls from Python (the CLI and the flows): each crawl in its own subprocess.

    from spiders.runner import run_crawl
    stats = run_crawl("arxiv", query="cat:cs.RO", base_url="http://127.0.0.1:8000")

Twisted's reactor cannot restart, so a long-lived caller cannot run Scrapy in-process twice; the
child is `python -m spiders.crawl`. It inherits the environment (all `SCOUT_*` variables), plus
the fields of the `CrawlSettings` passed in, and its log goes to `CrawlSettings.data_dir/logs/`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from domain.files import check_free_space, private_dir
from domain.processes import die_with_parent
from domain.models import CrawlStats
from domain.settings import CrawlSettings, StorageSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class UnknownSpiderError(KeyError):
    """No spider of that name; `.known` lists the ones that exist."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown spider {self.name!r}; known spiders: {', '.join(self.known) or 'none'}"


class CrawlError(RuntimeError):
    """The crawl process failed before it could report stats (not: some records were rejected)."""


def list_spiders() -> list[str]:
    """Names of all spiders in `spiders.sources`, sorted (imports the spider modules, not the reactor)."""
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    from spiders import settings as project_settings

    return sorted(SpiderLoader.from_settings(Settings({"SPIDER_MODULES": project_settings.SPIDER_MODULES})).list())


def settings_env(settings: CrawlSettings) -> dict[str, str]:
    """`SCOUT_CRAWL_*` variables that make the child process build the same CrawlSettings."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, dict)):
            value = json.dumps(value)
        env[f"SCOUT_CRAWL_{name.upper()}"] = str(value)
    return env


def _arg(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def run_crawl(spider: str, *, settings: CrawlSettings | None = None, **spider_args: Any) -> CrawlStats:
    """Crawl `spider` in a subprocess and return its stats.

    Raises `UnknownSpiderError` for a name `scrapy list` does not know and `CrawlError` when the
    process dies without stats. Rejected records and failed requests are not errors: they are in
    the stats and the rejects log.
    """
    known = list_spiders()
    if spider not in known:
        raise UnknownSpiderError(spider, known)
    settings = settings or CrawlSettings()
    check_free_space(settings.home, StorageSettings().min_free_bytes)  # a crawl writes batches, state, logs
    env = dict(os.environ)
    env.update(settings_env(settings))
    env["SCOUT_HOME"] = str(settings.home)  # resolved: `./var` must mean the caller's ./var
    env["SCRAPY_SETTINGS_MODULE"] = "spiders.settings"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    log_dir = settings.data_dir / "logs"
    private_dir(log_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    log_path = log_dir / f"{spider}-{stamp}.log"
    with tempfile.TemporaryDirectory(prefix="scout-crawl-") as tmp:
        stats_path = Path(tmp) / "stats.json"
        command = [sys.executable, "-m", "spiders.crawl", spider, "--stats-json", str(stats_path)]
        for key, value in spider_args.items():
            if value is not None:
                command += ["-a", f"{key}={_arg(value)}"]
        with open(log_path, "wb") as log:
            proc = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        if proc.returncode != 0 or not stats_path.exists():
            lines = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            headline = next((l.removeprefix("error: ") for l in reversed(lines) if l.startswith("error: ")), None)
            if headline:
                raise CrawlError(f"{headline} (log: {log_path})")
            raise CrawlError(f"crawl {spider!r} failed (exit {proc.returncode}); log {log_path}:\n" + "\n".join(lines[-15:]))
        return CrawlStats.model_validate_json(stats_path.read_text(encoding="utf-8"))
