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
