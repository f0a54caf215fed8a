"""JMdict answers the renderer from every thread: a web request renders a brief's Japanese evidence on a thread
of the server's pool, `scout serve` analyses a Japanese query on one, the enrichment on helpers."""

from __future__ import annotations

import threading

import pytest


def test_jmdict_answers_every_thread_not_only_the_first():
    """Jamdict keeps the SQLite connection it opened, usable only from its thread: one JMdict shared by every
    thread failed each lookup made from a second thread, and the failure was cached as "no entry" (a brief's
    gist, rendered on a request thread, read "metasurface radar absorbing material" for 本研究では、メタサーフェ
    スを用いた薄型の広帯域電波吸収体を設計した。)."""
    from nlp.katakana import jmdict_path
    from nlp.translate import _entries

    if jmdict_path() is None:
        pytest.skip("jamdict-data is not installed")
    found: dict[str, tuple] = {}
    for word in ("設計", "吸収", "測定"):  # each looked up first on a thread of its own, one after another
        _entries.cache_clear()
        thread = threading.Thread(target=lambda w=word: found.__setitem__(w, _entries(w)))
        thread.start()
        thread.join()
    assert all(found.values()), {w: len(e) for w, e in found.items()}
