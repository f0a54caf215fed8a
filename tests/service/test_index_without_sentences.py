"""An index created with the multilingual channel off (`SCOUT_NLP_MULTILINGUAL=off`) has no storage for the sentence
vectors. Opened with the channel on, the library says so in one line (a re-index adds it) and goes on with the
channel off for that index: nothing is encoded for it, and every ranking is the ranking without the channel."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain.settings import IndexSettings, NlpSettings
from service.index_library import open_library
from tests.realindex.documents import realindex_documents

ROOT = Path(__file__).resolve().parents[2]
NOTICE = "created without the multilingual sentence vectors"


def _nlp(multilingual: str) -> NlpSettings:
    return NlpSettings(model="hashing", cache=False, multilingual=multilingual)


def _build(path: Path, multilingual: str) -> None:
    with open_library(index_settings=IndexSettings(backend="edge", path=path), nlp_settings=_nlp(multilingual)) as lib:
        items, rejects = lib.enricher.enrich(realindex_documents())
        assert not rejects
        lib.index.upsert(items)


def _rankings(path: Path, multilingual: str) -> dict:
    """Every need's matches and a few searches (English and Japanese), as the library answers them."""
    with open_library(index_settings=IndexSettings(backend="edge", path=path), nlp_settings=_nlp(multilingual)) as lib:
        out = {}
        for need in lib.needs():
            out[need.id] = [(m.doc_id, round(m.score, 9), m.breakdown.model_dump()) for m in lib.match(need.id).matches]
        for query in ("autonomous drone swarm control", "radar absorbing material", "無人機の自律制御"):
            out[query] = [(h.doc_id, round(h.score, 9)) for h in lib.search(query, limit=10).hits]
        return out


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SCOUT_HOME", str(tmp_path / "home"))
    return tmp_path


def test_opened_with_the_channel_on_it_ranks_as_without_it_and_says_so_once(home, caplog):
    path = home / "index"
    _build(path, "off")
    caplog.set_level(logging.WARNING, logger="service.index_library")
    with open_library(index_settings=IndexSettings(backend="edge", path=path), nlp_settings=_nlp("use-m")) as lib:
        assert not lib.index.has_sentences()
        assert lib.enricher.multilingual is None  # the channel off for this index: nothing encoded for it
        item = lib.enricher.enrich(realindex_documents()[:2])[0][0]
        assert item.sentence_vectors is None
        assert lib.enricher.query("無人機の自律制御").multilingual_vector is None
    notices = [r.getMessage() for r in caplog.records if NOTICE in r.getMessage()]
    assert len(notices) == 1 and "a re-index adds it" in notices[0] and str(path) in notices[0]
    caplog.clear()
    off = _rankings(path, "off")
    on = _rankings(path, "use-m")
    assert on == off
    assert [r for r in caplog.records if NOTICE in r.getMessage()]  # said again by that opening
    assert any(on[k] for k in on)


def test_the_channel_takes_part_where_the_index_holds_it(home):
    """The control for the test above: the same documents in an index made with the channel on do rank with it
    (a Japanese-English pair's `multilingual` part), so equal rankings there mean the channel was off."""
    path = home / "with"
    _build(path, "use-m")
    with open_library(index_settings=IndexSettings(backend="edge", path=path), nlp_settings=_nlp("use-m")) as lib:
        assert lib.index.has_sentences()
        parts = [m.breakdown.multilingual for n in lib.needs() for m in lib.match(n.id).matches]
        assert any(p != 0 for p in parts)


def test_the_cli_says_it_in_one_line(home):
    """`scout needs` on such an index with the channel on: the one line on stderr, and the command answers as
    usual; with the channel off, no line."""
    path = home / "index"
    from index.store import Index

    with Index(IndexSettings(backend="edge", path=path), dim=384, sentences=False):
        pass
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOUT_")}
    env.update(PYTHONPATH=str(ROOT), SCOUT_HOME=str(home / "home"), SCOUT_INDEX_PATH=str(path),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", SCOUT_INDEX_LOCK_WAIT="0")
    for multilingual, lines in (("use-m", 1), ("off", 0)):
        result = subprocess.run([sys.executable, "-m", "scout", "needs"], cwd=ROOT, capture_output=True, text=True,
                                env={**env, "SCOUT_NLP_MULTILINGUAL": multilingual}, timeout=120)
        assert result.returncode == 0, result.stderr
        said = [line for line in result.stderr.splitlines() if NOTICE in line]
        assert len(said) == lines, result.stderr
        if lines:
            assert "a re-index adds it" in said[0] and "scout run enrich" in said[0]


def test_the_workers_of_a_fanned_out_enrich_follow_the_index(home, monkeypatch):
    """An enrich fanned out (`flows.enrich`: Dask workers, which never open the index) is told, once the writer has
    opened the index, whether its enricher encodes sentence vectors, and passes that to every step: the workers,
    whose own setting has the channel on, encode none for an index without their storage, and do for an index
    that has it (the same workers, kept up: a fresh enricher)."""
    from index.ingest import BARRIER
    from index.store import Index
    from service import operations
    from tests.flows.helpers import demo_documents, write_batches

    monkeypatch.setenv("SCOUT_NLP_MODEL", "hashing")
    monkeypatch.setenv("SCOUT_NLP_MULTILINGUAL", "use-m")
    monkeypatch.setattr(operations, "_worker_enricher", None)
    monkeypatch.setattr(operations, "_worker_channel_off", False)
    told, outcomes = [], []

    def enrich_steps(multilingual: bool):  # what flows.enrich.enrich_on_dask hands over, the steps run here
        told.append(multilingual)

        def run(steps):
            for step in steps:
                if step is not BARRIER:
                    outcomes.append(operations.enrich_step(step, multilingual=multilingual))
                    yield outcomes[-1]
        return run

    for name, sentences in (("without", False), ("with", True)):
        monkeypatch.setenv("SCOUT_HOME", str(home / name))
        with Index(IndexSettings(backend="edge", path=home / name / "index"), dim=384, sentences=sentences):
            pass
        write_batches(home / name / "inbox", demo_documents(12), per_batch=12)
        outcomes.clear()
        stats = operations.ingest_pending(enrich_steps=enrich_steps)
        assert sum(s.new for s in stats) == 12 and told[-1] is sentences
        vectors = [item.sentence_vectors for outcome in outcomes for item in outcome.enriched]
        assert len(vectors) == 12 and all((v is not None) is sentences for v in vectors), name
