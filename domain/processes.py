"""Child processes that never outlive us: Prefect servers and workers, crawl subprocesses.

- `die_with_parent` (a `preexec_fn`): on Linux the child gets SIGTERM when its parent dies, however it dies
  (SIGKILL, SIGBUS on a full disk); elsewhere it does nothing.
- `termination_raises`: SIGTERM and SIGHUP raise SystemExit in the main thread, so `finally` blocks and atexit
  handlers (which stop Prefect's ephemeral server) run on a polite kill too.
- `supervise`: run a command in its own process group, wait, then end whatever it left behind in that group,
  and say how it ended (`ended_by`), so a death by signal is a sentence rather than silence.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

_PR_SET_PDEATHSIG = 1
_TERMINATING = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


def die_with_parent() -> None:
    """`preexec_fn` for Popen: ask Linux to send this child SIGTERM when the parent thread ends."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the parent's own cleanup still ends the child on any catchable exit


@contextmanager
def termination_raises() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP raise SystemExit(128 + signal) instead of killing the process outright."""
    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    previous = {}
    try:
        for sig in _TERMINATING:
            previous[sig] = signal.signal(sig, _exit)
    except ValueError:  # not the main thread: signals stay as they are
        previous = {}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def end_group(pgid: int, grace: float = 10.0) -> bool:
    """SIGTERM to every process left in group `pgid`, SIGKILL after `grace` seconds; True when any was left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return True
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return True


def supervise(argv: Sequence[str], env: Mapping[str, str] | None = None, grace: float = 10.0) -> int:
    """Run `argv` as the leader of a new process group and return its exit status (negative: the signal that
    killed it). Ctrl-C, SIGTERM and SIGHUP are passed on to the group; when the command ends, by any means,
    whatever it started and left running in its group is ended too."""
    child = subprocess.Popen(list(argv), env=dict(env) if env is not None else None, start_new_session=True,
                             preexec_fn=die_with_parent)

    def forward(signum, _frame):
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    previous = {}
    for sig in (signal.SIGINT, *_TERMINATING):
        try:
            previous[sig] = signal.signal(sig, forward)
        except ValueError:
            break
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:  # a handler could not be installed: pass it on and keep waiting
                forward(signal.SIGINT, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        end_group(child.pid, grace)


def ended_by(status: int) -> str | None:
    """A sentence for a child killed by a signal (None for a normal exit)."""
    if status >= 0:
        return None
    sig = -status
    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
    why = {
        "SIGBUS": "a bus error while writing a memory-mapped file: almost always a full disk",
        "SIGKILL": "killed outright: out of memory, or stopped by someone",
        "SIGSEGV": "a crash in native code",
    }.get(name, "")
    return f"killed by {name}" + (f" ({why})" if why else "")
