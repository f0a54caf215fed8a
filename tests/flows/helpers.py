"""Shared set-up for the flow fault tests: demo documents as crawl batches, subprocess environment."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from scout.demo.site import DATA_DIR
from domain.models import Document
from tests.ports import free_port

PROJECT = Path(__file__).resolve().parents[2]


def demo_documents(n: int) -> list[Document]:
    rows = [json.loads(line) for line in (DATA_DIR / "announcements.jsonl").read_text(encoding="utf-8").splitlines()]
    return [Document.make(kind="startup", source="feeds", source_id=r["id"], url=f"https://example.org/news/{r['id']}",
                          title=r["title"], text=r["text"], organizations=[r["company"]] if r["company"] else [])
            for r in rows[:n]]


def write_batches(inbox: Path, docs: list[Document], per_batch: int) -> list[Path]:
    inbox.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(0, len(docs), per_batch):
        path = inbox / f"feeds-2026112{i // per_batch}T000000Z.jsonl"
        path.write_text("".join(d.model_dump_json() + "\n" for d in docs[i:i + per_batch]), encoding="utf-8")
        paths.append(path)
    return paths


def env_for(home: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update(SCOUT_HOME=str(home), SCOUT_NLP_MODEL="hashing", PYTHONPATH=str(PROJECT), HF_HUB_OFFLINE="1")
    return env


# The enrich flow's task body, run without the scheduler (what a worker process runs).
INGEST = [sys.executable, "-c", "from flows.enrich import ingest_pending_batches as t; "
          "import json; print(json.dumps([s.model_dump() for s in t.fn()]))"]
