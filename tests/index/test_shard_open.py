"""A damaged shard is reported as what it is (issue 19.7), not as an unrelated "incompatible config"."""

from __future__ import annotations

import pytest

from domain.settings import IndexSettings
from index.store import Index
from tests.index.conftest import corpus


def test_a_shard_with_a_damaged_wal_says_so(tmp_path, enricher):
    settings = IndexSettings(backend="edge", path=tmp_path / "index")
    with Index(settings, dim=32) as index:
        enriched, _ = enricher.enrich(corpus())
        index.upsert(enriched)
        index.flush()
    for part in (tmp_path / "index" / "shard" / "wal").glob("open-*"):
        part.write_bytes(b"\xff" * 64)  # as a kill during a write on a full disk might leave it
    with pytest.raises(RuntimeError) as raised:  # index.backends.edge.ShardOpenError
        Index(settings, dim=32)
    message = str(raised.value)
    assert f"{tmp_path / 'index' / 'shard'} cannot be opened" in message and "WAL" in message
    assert "incompatible" not in message.lower()
    # and the lock was let go: the next attempt fails the same way, not with "locked"
    with pytest.raises(RuntimeError, match="cannot be opened"):
        Index(settings, dim=32)
