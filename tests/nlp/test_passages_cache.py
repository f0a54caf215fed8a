"""Passages cover the whole text and fit the model; the cache prevents re-embedding."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from nlp.cache import CachedEmbedder, EmbeddingCache, passage_hash
from nlp.fake import HashingEmbedder
from nlp.passages import analysed_text, split_passages

EN = (
    "Advanced composite material systems are vital to lightweight missile structures. "
    "Carbon fiber-reinforced epoxy is used for rocket motor cases, airframes and launch tubes! "
    "Delamination is the predominant damage mode after impact; it lowers the residual compressive strength. "
)
JA = "量子センシングを用いた高感度な磁場計測を実証した。合成開口レーダー画像から船舶を自動検出する。" * 3


def _assert_covers(text, passages, max_tokens, embedder):
    assert passages[0].start == 0 and passages[-1].end == len(text)
    for prev, nxt in zip(passages, passages[1:]):
        assert nxt.start <= prev.end, "gap between passages"
        assert nxt.start > prev.start, "no progress"
    covered = set()
    for p in passages:
        assert p.text == text[p.start : p.end]
        covered.update(range(p.start, p.end))
    assert covered == set(range(len(text)))
    assert max(embedder.count_tokens([p.text for p in passages])) <= max_tokens


@pytest.mark.parametrize("max_tokens", [8, 16, 40, 400])
@pytest.mark.parametrize("text", [EN * 4, JA, EN + JA + " " + "word " * 120, "x" * 500, "一" * 300])
def test_passages_cover_the_whole_text(text, max_tokens):
    embedder = HashingEmbedder(max_tokens=max_tokens)
    split = split_passages(text, embedder, overlap_tokens=4)
    assert not split.capped
    _assert_covers(text, split.passages, max_tokens, embedder)


def test_passages_overlap_between_sentences():
    embedder = HashingEmbedder(max_tokens=30)
    text = " ".join(f"Sentence {i} has five words." for i in range(40))
    passages = split_passages(text, embedder, overlap_tokens=8).passages
    assert len(passages) > 3
    assert all(b.start < a.end for a, b in zip(passages, passages[1:]))


def test_one_megabyte_text_is_bounded_and_recorded():
    embedder = HashingEmbedder(max_tokens=128)
    text = EN * (1_000_000 // len(EN))
    started = time.perf_counter()
    split = split_passages(text, embedder, overlap_tokens=16, max_passages=64)
    assert time.perf_counter() - started < 10
    assert split.capped and len(split.passages) == 64
    assert split.notes and "64 passages" in split.notes[0]
    _assert_covers(text[: split.covered_chars], split.passages, 128, embedder)


def test_analysed_text_joins_title_and_text():
    assert analysed_text("T", "body") == "T\nbody"
    assert analysed_text("", "body") == "body"
    assert analysed_text("T", "") == "T"


def test_cache_prevents_re_embedding(tmp_path):
    inner = HashingEmbedder()
    cached = CachedEmbedder(inner, EmbeddingCache(tmp_path / "e.sqlite"))
    texts = ["alpha beta", "gamma delta", "alpha beta"]
    first = cached.encode(texts)
    assert inner.encoded_texts == 2  # the duplicate is embedded once
    second = cached.encode(texts)
    assert inner.encoded_texts == 2 and inner.encode_calls == 1
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first[0], inner.encode(["alpha beta"])[0], rtol=1e-6)
    # A new process (new cache object on the same file) still hits.
    inner2 = HashingEmbedder()
    again = CachedEmbedder(inner2, EmbeddingCache(tmp_path / "e.sqlite")).encode(["gamma delta", "new text"])
    assert inner2.encoded_texts == 1
    np.testing.assert_array_equal(again[0], first[1])


def test_cache_is_keyed_by_model(tmp_path):
    cache = EmbeddingCache(tmp_path / "e.sqlite")
    a, b = HashingEmbedder(name="model-a"), HashingEmbedder(name="model-b", dim=384)
    CachedEmbedder(a, cache).encode(["same text"])
    CachedEmbedder(b, cache).encode(["same text"])
    assert a.encoded_texts == 1 and b.encoded_texts == 1
    assert len(cache) == 2


def test_hashing_embedder_is_deterministic_and_normalized():
    e = HashingEmbedder()
    v1, v2 = e.encode(["quantum sensing radar"]), HashingEmbedder().encode(["quantum sensing radar"])
    np.testing.assert_array_equal(v1, v2)
    assert v1.dtype == np.float32 and abs(np.linalg.norm(v1[0]) - 1) < 1e-5


def test_cached_rows_of_the_wrong_dimension_or_not_finite_are_misses(tmp_path):
    """Issue 19.5: such rows made documents vanish from the index or search return nothing."""
    cache = EmbeddingCache(tmp_path / "e.sqlite")
    inner = HashingEmbedder()
    texts = ["wrong dimension", "not a number", "not unit length", "good row"]
    good = inner.encode(texts)
    bad_rows = [np.ones(7, dtype=np.float32) / np.sqrt(7), np.full(inner.dim, np.nan, dtype=np.float32), good[2] * 3]
    cache._db.executemany("INSERT INTO embeddings VALUES (?, ?, ?, ?)",
                          [(inner.name, passage_hash(t), int(v.shape[0]), v.tobytes()) for t, v in zip(texts, bad_rows)])
    cache._db.commit()
    CachedEmbedder(inner, cache).encode(texts[3:])  # the good row is cached the normal way
    fresh = HashingEmbedder()
    out = CachedEmbedder(fresh, cache).encode(texts)
    assert fresh.encoded_texts == 3 and cache.invalid == 3  # the three bad rows re-embedded, the good one reused
    np.testing.assert_allclose(out, good, rtol=1e-6)
    assert np.all(np.isfinite(out)) and out.shape == (4, inner.dim)


def test_a_truncated_cache_file_is_moved_aside_and_rebuilt(tmp_path, caplog):
    path = tmp_path / "e.sqlite"
    cache = EmbeddingCache(path)
    CachedEmbedder(HashingEmbedder(), cache).encode([f"text {i}" for i in range(300)])
    cache.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(path.read_bytes()[:1500])  # cut mid-page, as a full disk or a kill would
    with caplog.at_level("WARNING"):
        reopened = EmbeddingCache(path)
        out = CachedEmbedder(HashingEmbedder(), reopened).encode(["text 1", "text 2"])
    assert out.shape == (2, HashingEmbedder().dim) and np.all(np.isfinite(out))
    assert reopened.moved_aside is not None and reopened.moved_aside.exists()
    assert "moved aside" in caplog.text and len(reopened) == 2


def _query_equal(a, b) -> None:
    assert (a.language, a.concepts, a.passages, a.rendering) == (b.language, b.concepts, b.passages, b.rendering)
    assert (a.sparse.indices, a.sparse.values) == (b.sparse.indices, b.sparse.values)
    np.testing.assert_array_equal(a.passage_vectors, b.passage_vectors)


@pytest.mark.parametrize("text", ["synthetic aperture radar for small satellites (SAR)",
                                  "小型衛星による合成開口レーダー観測"])
def test_a_query_analysed_once_is_answered_from_the_cache(nlp_settings, monkeypatch, text):
    """Issue 16: a need title is analysed by every match run; a cold `scout match` then takes the analysis from
    the cache (no spaCy, GiNZA or dictionary) and the vectors from the embedding cache: the same query."""
    from nlp.pipeline import Enricher

    settings = nlp_settings.model_copy(update={"model": "hashing"})
    first = Enricher(settings).query(text)
    later = Enricher(settings)
    monkeypatch.setattr(later, "analyse_text", lambda *a: pytest.fail("analysed again"))
    monkeypatch.setattr(later, "_renderings", lambda *a: pytest.fail("rendered again"))
    _query_equal(later.query(text), first)
    # another analysing setting is another fingerprint: analysed afresh
    other = Enricher(settings.model_copy(update={"translate": not settings.translate}))
    assert other.analysis_fingerprint != later.analysis_fingerprint
    calls = []
    real = other.analyse_text
    monkeypatch.setattr(other, "analyse_text", lambda *a: calls.append(a) or real(*a))
    other.query(text)
    assert calls


def test_a_damaged_cached_analysis_is_a_miss():
    from nlp.pipeline import QueryAnalysis

    for damaged in (None, "", "{", '{"language": "en"}', '{"language": "en", "concepts": [], "texts": [], '
                                                            '"rendered": [[1]], "sparse": [[], []]}'):
        assert QueryAnalysis.from_json(damaged) is None


def test_query_analyses_of_another_fingerprint_are_dropped(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    cache.put_analysis("old", "h1", "{}")
    assert cache.get_analysis("old", "h1") == "{}"
    later = EmbeddingCache(tmp_path / "c.sqlite")  # a process of newer code
    later.put_analysis("new", "h2", "[]")
    assert later.get_analysis("old", "h1") is None and later.get_analysis("new", "h2") == "[]"
