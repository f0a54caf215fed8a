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


def test_sets_of_channels_search_together_and_each_keeps_its_lists():
    # a free-text query's unfiltered reference lists and its filtered lists: a search of the second set runs
    # while one of the first still runs (the barrier passes only then), and each set gets its own lists
    barrier = threading.Barrier(2)
    first = [Recording("a", barrier), Recording("b")]
    second = [Recording("a"), Recording("c", barrier)]
    assert channels.CHANNEL_THREADS == 2
    got = channels.search_channel_sets([(first, None), (second, None)], None)
    assert [list(lists) for lists in got] == [["a", "b"], ["a", "c"]]
    assert got[1]["c"] == Recording("c").search(None, None)


def test_a_free_text_search_finds_the_lists_and_scales_it_found_one_set_after_the_other(tmp_path):
    # `Ranker.reference_and_results` searches a filtered (or shallower) free-text ranking's lists and its unfiltered
    # reference lists at once: the same lists and the same scales as the reference first, then the lists
    from domain.models import DocKind, SearchFilters
    from domain.settings import IndexSettings
    from index.ranking import Ranker, RankWeights
    from index.store import Index
    from index.suppliers import KnownSuppliers
    from tests.index.fakes import FakeEnricher
    from tests.index.test_rank_golden import DIM, QUERIES, demo_corpus

    enricher = FakeEnricher(dim=DIM)
    with Index(IndexSettings(backend="edge", path=tmp_path / "ix"), dim=DIM) as ix:
        enriched, _ = enricher.enrich(demo_corpus())
        ix.upsert(enriched)
        weights = RankWeights(search_scale_depth=60)
        for text in QUERIES:
            for filters, depth in ((None, 30), (SearchFilters(kind=DocKind.research), 30),
                                   (SearchFilters(language="ja"), 60)):
                one_after = Ranker(ix, enricher, KnownSuppliers(), weights=weights)
                q = one_after.query_input(text)
                scales, best = one_after.reference_scales(q, None, 60)
                expected = one_after.channel_results(q, filters, "full", None, depth, best)
                together = Ranker(ix, enricher, KnownSuppliers(), weights=weights)
                got_scales, got_best, got = together.reference_and_results(q, filters, None, depth, 60)
                assert (got_scales, got_best) == (scales, best)
                assert got == expected and any(got.values())
                ranked = together.rank(q, filters, limit=10, exclude_kind=None, depth=depth)
                assert ranked == one_after.rank(q, filters, limit=10, exclude_kind=None, depth=depth)
