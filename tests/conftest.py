"""Project-wide test set-up: every test gets its own SCOUT_HOME; nothing reaches the network."""

from __future__ import annotations

import os

import pytest

# Before any library is imported: nothing may try to download a model.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(autouse=True)
def scout_home(tmp_path, monkeypatch):
    home = tmp_path / "scout-home"
    home.mkdir()
    monkeypatch.setenv("SCOUT_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server (temporary database) for every flow test in the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
