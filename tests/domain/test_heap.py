"""A settled heap (`domain.heap`): what was alive is out of the collector's reach, garbage is still collected.

Each check runs in a process of its own: settling the test runner's heap would keep its garbage for the rest
of the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SETTLE = """
import gc, json, weakref

class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a

kept = cycle()                      # alive when the heap settles: frozen
dropped = cycle()                   # garbage in a cycle when it settles: collected, not frozen for good
dropped_ref = weakref.ref(dropped)
del dropped
from domain.heap import settle_heap, YOUNG_COLLECTION
settle_heap()
tracked = {id(o) for o in gc.get_objects()}
later = cycle()                     # garbage made after: the collector still finds it
later_ref = weakref.ref(later)
del later
gc.collect()
print(json.dumps({
    "kept_tracked": id(kept) in tracked,
    "frozen": gc.get_freeze_count(),
    "dropped_collected": dropped_ref() is None,
    "later_collected": later_ref() is None,
    "threshold": gc.get_threshold(),
    "young": YOUNG_COLLECTION,
}))
"""


def test_settling_freezes_what_is_alive_and_still_collects_garbage_in_cycles():
    done = subprocess.run([sys.executable, "-c", SETTLE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert not got["kept_tracked"], "an object alive at settling is in no generation the collector visits"
    assert got["frozen"] > 1000  # the interpreter's and the modules' objects with it
    assert got["dropped_collected"], "garbage at settling is collected, not kept for good"
    assert got["later_collected"], "a cycle made after settling is still collected"
    assert got["threshold"][0] == got["young"] > 700
