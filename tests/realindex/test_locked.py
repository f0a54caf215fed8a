"""An embedded index has one owner process: a second `scout` waits a bounded time for it, then gets a clean
one-line error naming the owner (at once with SCOUT_INDEX_LOCK_WAIT=0)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from index.store import Index
    from domain.settings import IndexSettings
    index = Index(IndexSettings(backend="edge", path=Path(sys.argv[1])), dim=384, command="holder for a test")
    print("ready", flush=True)
    sys.stdin.read()  # hold the index until the test closes our stdin
    index.close()
""")


def _env(tmp_path: Path, index: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOUT_")}
    env.update(PYTHONPATH=str(ROOT), SCOUT_HOME=str(tmp_path / "home"), SCOUT_INDEX_PATH=str(index),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", SCOUT_INDEX_LOCK_WAIT="0")
    return env


def _scout(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "scout", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def held_index(tmp_path):
    index = tmp_path / "index"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(index)], env=_env(tmp_path, index), cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        assert line.strip() == "ready", holder.stderr.read()
        yield index, holder
    finally:
        holder.stdin.close()
        try:
            holder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()


def test_a_locked_index_is_a_one_line_error(tmp_path, held_index):
    index, holder = held_index
    env = _env(tmp_path, index)
    result = _scout(env, "search", "radar absorbing")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback, no model-loading progress bars
    assert lines[0].startswith("error: the index is locked by another process")
    assert f"pid {holder.pid}" in lines[0] and "holder for a test" in lines[0]
    # once the owner is gone, the same folder opens
    holder.stdin.close()
    holder.wait(timeout=30)
    result = _scout(env, "needs", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("command", [["needs"], ["match", "3f2a9c1e"], ["org", "Tohoku University"],
                                     ["export", "matches", "--format", "csv"], ["run", "enrich"],
                                     ["run", "match"]])
def test_a_locked_index_is_one_line_naming_the_owner_in_every_command_and_flow(tmp_path, held_index, command):
    index, holder = held_index
    result = _scout(_env(tmp_path, index), *command)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no Prefect traceback either: flows check before they start
    assert f"pid {holder.pid}" in lines[0] and "holder for a test" in lines[0], lines[0]
    assert "Traceback" not in result.stdout


def test_a_command_waits_for_a_short_holder_then_answers(tmp_path, held_index):
    """Two cold CLI queries at once: the second waits for the first to let go instead of failing."""
    import threading

    index, holder = held_index
    threading.Timer(3.0, holder.stdin.close).start()  # the holder lets go after 3 s
    result = _scout({**_env(tmp_path, index), "SCOUT_INDEX_LOCK_WAIT": "120"}, "needs", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert "waiting up to 120 s for the index" in result.stderr and f"pid {holder.pid}" in result.stderr


def test_a_command_gives_up_after_its_wait_naming_the_owner(tmp_path, held_index):
    index, holder = held_index
    result = _scout({**_env(tmp_path, index), "SCOUT_INDEX_LOCK_WAIT": "1.5"}, "search", "radar")
    assert result.returncode == 1, result.stderr
    waiting, error = result.stderr.strip().splitlines()
    assert waiting.startswith("waiting up to 1.5 s for the index")
    assert error.startswith("error: the index is locked by another process") and f"pid {holder.pid}" in error


def test_opening_the_library_does_not_load_the_model(tmp_path):
    """Only text queries need the embedding model; opening the index (and needs, match, org) does not."""
    probe = textwrap.dedent("""
        import sys
        from service.index_library import open_library
        from nlp.embedder import SentenceTransformerEmbedder
        with open_library() as library:
            assert library.needs() == []
            assert library.index.dim == 384
        print("sentence_transformers" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", probe], env=_env(tmp_path, tmp_path / "index"), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]


def test_model_folder_dim_reads_the_packaged_model(tmp_path):
    import json

    from nlp.embedder import default_model_path
    from service.index_library import model_folder_dim

    assert model_folder_dim(default_model_path()) == 384
    # a Dense head after pooling changes the output size; a folder that says nothing gives None
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "2_Dense").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 768}))
    (folder / "2_Dense" / "config.json").write_text(json.dumps({"in_features": 768, "out_features": 256}))
    modules = [{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
    (folder / "modules.json").write_text(json.dumps(modules))
    assert model_folder_dim(folder) == 256
    assert model_folder_dim(tmp_path / "nothing-here") is None
