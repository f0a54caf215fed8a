"""The garbage collector of a long-lived process that answers searches (`scout serve`), set once it is warm.

CPython's cycle collector runs a full collection whenever enough objects have outlived the younger ones, and a
full collection visits every object the process holds: a serving process holds the models' and the index's
(about 170,000 objects once a query has loaded them). At 100k synthetic documents one came about every 12
searches and took 100-110 ms, so about one search in twelve was that much slower: the p95.
`settle_heap` collects once, then moves every object alive into the permanent generation (`gc.freeze`: later
collections do not visit it; what a warm process has loaded it keeps), and collects the young generation after
50,000 net allocations instead of 700 (a search allocates and frees tens of thousands of objects, nearly all
freed by reference counting; cycles wait a little longer to be found). `bench/heap_settle.py` alternates the
two in one process: no full collection in 150 searches settled against 12 of 107 ms on average, the Library's
search p95 0.80x.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION = 50_000  # net allocations of container objects between young collections (CPython: 700)
OLDER_COLLECTIONS = (20, 10)  # young collections per middle one, middle per full one (CPython: 10, 10)


def settle_heap() -> None:
    """Collect what is garbage now, keep what is alive out of every later collection, collect less often. Call
    it when the process has loaded what it keeps (models, index tables); again after more was loaded is fine."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, *OLDER_COLLECTIONS)
