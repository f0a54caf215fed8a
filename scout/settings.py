"""Settings: one pydantic-settings class per concern, read from `SCOUT_*` environment variables.

Imports nothing of ours. Construct a settings object where it is used (late), never at import time;
secrets are `SecretStr` and are never logged or printed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def scout_home() -> Path:
    """Where dualscout keeps its state: `$SCOUT_HOME`, else `./var`."""
    return Path(os.environ.get("SCOUT_HOME") or "var").resolve()


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCOUT_", extra="ignore", env_file=None)

    @property
    def home(self) -> Path:
        return scout_home()


class CrawlSettings(_Settings):
    """Polite crawling defaults (`SCOUT_CRAWL_*`)."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_CRAWL_", extra="ignore")

    user_agent: str = "dualscout/0.1 (+https://github.com/dualscout/dualscout)"
    contact: str = ""  # appended to the User-Agent, e.g. an e-mail address
    robotstxt_obey: bool = True
    concurrent_requests_per_domain: int = Field(default=2, ge=1, le=8)
    download_delay: float = 1.0
    autothrottle: bool = True
    download_timeout: int = 30
    retry_times: int = 3
    max_page_bytes: int = 10 * 1024 * 1024
    http_cache: bool = True
    allowed_domains: list[str] = Field(default_factory=list)  # extra domains beyond each spider's own
    feeds: list[str] = Field(default_factory=list)  # RSS/Atom feed URLs for the startup spider
    openalex_api_key: SecretStr | None = None
    openalex_mailto: str = ""
    kaken_appid: SecretStr | None = None
    jstage_enabled: bool = True

    @property
    def data_dir(self) -> Path:
        return self.home / "crawl"

    @property
    def inbox_dir(self) -> Path:
        """Finished crawl batches wait here until the enrich step has indexed them."""
        return self.home / "inbox"

    @property
    def rejects_path(self) -> Path:
        return self.home / "rejects.jsonl"


class NlpSettings(_Settings):
    """Language, entities and embeddings (`SCOUT_NLP_*`)."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_NLP_", extra="ignore")

    # Any sentence-transformers name or path; empty means the packaged all-MiniLM-L6-v2 (loaded by path).
    model: str = ""
    backend: Literal["torch", "onnx"] = "torch"
    onnx_int8: bool = False
    batch_size: int = Field(default=32, ge=1)
    max_passage_tokens: int = Field(default=0, ge=0)  # 0: the model's own max_seq_length
    passage_overlap_tokens: int = Field(default=32, ge=0)
    ja_pipeline: str = "ja_ginza"
    taxonomy_path: Path | None = None  # None: the bundled nlp/taxonomy.yaml
    translate: bool = True  # dictionary term translation for cross-lingual matching
    cache: bool = True

    @property
    def cache_path(self) -> Path:
        return self.home / "embeddings.sqlite"


class IndexSettings(_Settings):
    """The Qdrant index (`SCOUT_INDEX_*`). `edge` is embedded and needs no server."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_INDEX_", extra="ignore")

    backend: Literal["edge", "server", "local"] = "edge"
    path: Path | None = None  # embedded shard folder; None: $SCOUT_HOME/index
    url: str = "http://127.0.0.1:6333"  # for backend=server
    api_key: SecretStr | None = None
    collection: str = "dualscout"
    known_suppliers_path: Path | None = None  # None: the bundled list

    @property
    def resolved_path(self) -> Path:
        return self.path or (self.home / "index")

    @property
    def ledger_path(self) -> Path:
        """Match history: which matches were seen in which run, what was reported."""
        return self.home / "ledger.sqlite"


class ReportSettings(_Settings):
    """The weekly e-mail (`SCOUT_REPORT_*`). With no SMTP host the report is written to the outbox."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_REPORT_", extra="ignore")

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str = ""
    smtp_password: SecretStr | None = None
    smtp_timeout: float = 30.0
    send_retries: int = 3
    send_backoff: float = 2.0  # seconds before the first retry, doubled for each further one
    sender: str = "dualscout@localhost"
    recipients: list[str] = Field(default_factory=list)
    subject_prefix: str = "[dualscout]"
    base_url: str = "http://127.0.0.1:8700"  # links in the mail point at `scout serve`
    top_per_need: int = 5
    timezone: str = "Asia/Tokyo"  # ISO weeks (`--week 2026-W47`) and the times shown in the report
    outbox: Path | None = None  # None: $SCOUT_HOME/outbox

    @property
    def outbox_dir(self) -> Path:
        return self.outbox or (self.home / "outbox")


class WebSettings(_Settings):
    """`scout serve` (`SCOUT_WEB_*`). Any bind other than loopback needs a token."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_WEB_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8700
    token: SecretStr | None = None
