"""State on a shared machine (issue 19.6): the home and what is in it are this user's only, secrets always 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from domain.files import private_dir, write_secret


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The common default umask (022), under which plain mkdir/open give 0755/0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_pre_existing_owner_token_file_is_replaced_0600(tmp_path, open_umask):
    from index.lock import OwnerLock

    folder = private_dir(tmp_path / "index")
    stale = folder / ".owner.token"
    stale.write_text("old-token")
    os.chmod(stale, 0o644)  # as a previous version or a careless copy left it
    lock = OwnerLock(folder, command="test")
    lock.acquire()
    try:
        token = lock.advertise("http://127.0.0.1:8700", "edge", 384)
        assert mode(stale) == 0o600 and stale.read_text() == token != "old-token"
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    finally:
        lock.release()


def test_write_secret_never_keeps_an_old_mode(tmp_path, open_umask):
    path = tmp_path / "secret"
    path.write_text("x" * 100)
    os.chmod(path, 0o666)
    write_secret(path, "short")
    assert mode(path) == 0o600 and path.read_text() == "short"


def test_a_new_home_and_its_state_are_private(tmp_path, monkeypatch, open_umask):
    from domain.settings import CrawlSettings, IndexSettings, NlpSettings
    from index.ingest import ingest_inbox
    from index.ledger import Ledger
    from index.lock import OwnerLock
    from nlp.cache import EmbeddingCache
    from spiders.state import CrawlState

    home = tmp_path / "fresh" / "home"
    monkeypatch.setenv("SCOUT_HOME", str(home))
    crawl, index = CrawlSettings(), IndexSettings()
    Ledger(index.ledger_path)
    EmbeddingCache(NlpSettings().cache_path).close()
    CrawlState(crawl.data_dir / "state.sqlite").close()
    lock = OwnerLock(index.resolved_path)
    lock.acquire()
    lock.release()
    private_dir(crawl.inbox_dir)
    ingest_inbox(crawl.inbox_dir, None, None, rejects_path=crawl.rejects_path)
    for folder in (home, index.resolved_path, crawl.inbox_dir, crawl.inbox_dir / "done", crawl.data_dir):
        assert mode(folder) == 0o700, folder
    for file in (index.ledger_path, NlpSettings().cache_path, crawl.data_dir / "state.sqlite"):
        assert mode(file) == 0o600, file
    assert mode(tmp_path / "fresh") == 0o700  # every folder it had to create, not only the last one


class FakeStatvfs:
    """What os.statvfs reports of a nearly full disk."""

    def __init__(self, free_bytes: int) -> None:
        self.free = free_bytes
        self.asked: list[str] = []

    def __call__(self, path: str):
        from types import SimpleNamespace

        self.asked.append(path)
        return SimpleNamespace(f_bavail=self.free // 4096, f_frsize=4096)


def test_free_space_is_checked_with_a_clear_error(tmp_path):
    from domain.files import DiskSpaceError, check_free_space

    statvfs = FakeStatvfs(10 * 1024 * 1024)
    with pytest.raises(DiskSpaceError) as raised:
        check_free_space(tmp_path / "not" / "yet", 256 * 1024 * 1024, statvfs=statvfs)
    assert str(raised.value).startswith(f"only 10.0 MiB free on the disk of {tmp_path}, below the 256.0 MiB needed")
    assert statvfs.asked == [str(tmp_path)]  # the nearest folder that exists
    assert check_free_space(tmp_path, 1024, statvfs=statvfs) == 10 * 1024 * 1024


def test_enrich_stops_before_writing_when_the_disk_is_nearly_full(tmp_path, monkeypatch):
    """Issue 19.7: a full disk during enrich died of SIGBUS with no message; now nothing is opened or written."""
    from domain.files import DiskSpaceError
    from service import operations

    monkeypatch.setenv("SCOUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCOUT_MIN_FREE_MB", str(10**12))  # more than any disk has
    with pytest.raises(DiskSpaceError, match=r"free on the disk of .* \(SCOUT_MIN_FREE_MB\)"):
        operations.ingest_pending()
    assert not (tmp_path / "home" / "index").exists()
