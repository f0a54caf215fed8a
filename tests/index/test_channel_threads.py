"""`search_channels` searches the channels two at a time: the lists are each channel's own, in the channels'
order, and a channel's error is raised as it would be one at a time."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

import index.ranking.channels as channels
from index.ranking.channels import ChannelHit, search_channels


@dataclass
class Recording:
    name: str
    barrier: threading.Barrier | None = None
    fail: bool = False
    threads: list[str] = field(default_factory=list)
    part: str = "dense"
    correction_part: str = "generic"

    def search(self, q, ctx) -> list[ChannelHit]:
        self.threads.append(threading.current_thread().name)
        if self.barrier is not None:
            self.barrier.wait(timeout=60)  # passes only when two channels search at once
        if self.fail:
            raise RuntimeError(f"{self.name} failed")
        return [ChannelHit(f"{self.name}-{i}", 1.0 - i / 10, 1.0 - i / 10) for i in range(3)]


def test_two_channels_search_at_once_and_keep_their_order():
    barrier = threading.Barrier(2)
    chans = [Recording("a", barrier), Recording("b", barrier), Recording("c"), Recording("d")]
    results = search_channels(chans, None, None)
    assert list(results) == ["a", "b", "c", "d"]
    assert results["c"] == Recording("c").search(None, None)
    assert any(t.startswith("channel") for ch in chans for t in ch.threads)


def test_a_failing_channel_raises_after_the_others_finish():
    chans = [Recording("a"), Recording("b", fail=True), Recording("c")]
    with pytest.raises(RuntimeError, match="b failed"):
        search_channels(chans, None, None)
    assert all(ch.threads for ch in chans)


def test_one_thread_runs_them_in_order(monkeypatch):
    monkeypatch.setattr(channels, "CHANNEL_THREADS", 1)
    chans = [Recording("a"), Recording("b")]
    assert list(search_channels(chans, None, None)) == ["a", "b"]
    assert {t for ch in chans for t in ch.threads} == {threading.current_thread().name}
