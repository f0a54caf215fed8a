"""Every spider test gets a private SCOUT_HOME and an empty SCOUT_CRAWL_* environment."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def scout_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SCOUT_HOME", str(home))
    for key in list(os.environ):
        if key.startswith("SCOUT_CRAWL_"):  # spiders read CrawlSettings from SCOUT_CRAWL_*
            monkeypatch.delenv(key)
    return home
