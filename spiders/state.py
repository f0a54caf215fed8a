"""Crawl state: which documents (id and content hash) have been delivered in a finished batch.

One SQLite file in `CrawlSettings.data_dir`. The dedup pipeline reads it; the batch writer records
a batch's documents only after the batch file is final, so a crawl that dies midway re-emits
everything it had found (nothing is lost, at worst something is delivered twice).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from domain.files import private_file
from domain.models import Document

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_changed TEXT NOT NULL,
    batch TEXT
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
"""


class CrawlState:
    def __init__(self, path: Path):
        self.path = Path(path)
        private_file(self.path)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def lookup(self, doc_id: str) -> tuple[str, str] | None:
        """(content_hash, first_seen ISO time) of a delivered document, or None."""
        row = self.db.execute("SELECT content_hash, first_seen FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def record(self, docs: Iterable[Document], batch: str | None) -> int:
        """Mark documents as delivered in `batch`, in one transaction."""
        rows = [
            (d.id, d.source, d.url, d.content_hash, d.first_seen.isoformat(), d.first_seen.isoformat(), batch)
            for d in docs
        ]
        with self.db:
            self.db.executemany(
                """INSERT INTO documents (id, source, url, content_hash, first_seen, last_changed, batch)
                   VALUES (?, ?, ?, ?, ?, datetime('now'), ?)
                   ON CONFLICT(id) DO UPDATE SET url = excluded.url, content_hash = excluded.content_hash,
                       last_changed = datetime('now'), batch = excluded.batch""",
                [r[:5] + r[6:] for r in rows],
            )
        return len(rows)

    def count(self, source: str | None = None) -> int:
        if source:
            return self.db.execute("SELECT count(*) FROM documents WHERE source = ?", (source,)).fetchone()[0]
        return self.db.execute("SELECT count(*) FROM documents").fetchone()[0]

    def close(self) -> None:
        self.db.close()
