from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clean_crawl_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spiders read CrawlSettings from SCOUT_CRAWL_*; tests start from a known, empty environment."""
    import os

    for key in list(os.environ):
        if key.startswith("SCOUT_CRAWL_"):
            monkeypatch.delenv(key)
