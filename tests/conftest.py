"""Project-wide test set-up: every test gets its own SCOUT_HOME; nothing reaches the network."""

from __future__ import annotations

import os

import pytest

# Before any library is imported: nothing may try to download a model.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def onnx_exports(tmp_path_factory):
    """One folder of ONNX model exports for the session: the query encoder is exported once, not per test."""
    return tmp_path_factory.mktemp("onnx-exports")


@pytest.fixture(autouse=True)
def scout_home(tmp_path, monkeypatch, onnx_exports):
    home = tmp_path / "scout-home"
    home.mkdir()
    monkeypatch.setenv("SCOUT_HOME", str(home))
    monkeypatch.setenv("SCOUT_NLP_ONNX_DIR", str(onnx_exports))
    return home


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server (temporary database) for every flow test in the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
