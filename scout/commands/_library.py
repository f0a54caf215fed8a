"""How the CLI gets its `Library`.

`get_library()` opens the real library (`service.index_library.open_library`) the first time a command needs it
(when `scout serve` owns the embedded index, that library reads and writes it through the owner: `index.owner`);
`use_library(lib)` swaps in another one (tests use a deterministic in-memory fake; `scout serve` its own library,
for the commands it runs for the CLI) for the duration of a block.
Failures to open become `LibraryUnavailable` with a one-line reason, which commands print without a traceback.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import typer
from typer.exceptions import TyperException

from service.library import Library

_override: Library | None = None


class LibraryUnavailable(RuntimeError):
    """The index cannot be opened: not built yet, locked by another process, or broken."""


def get_library(read_only: bool = True, wait: float | None = None) -> Library:
    """The library a command uses: the index opened in this process (through its owner when `scout serve`
    owns it), waiting up to `wait` seconds (default: SCOUT_INDEX_LOCK_WAIT) for another process that holds it
    without serving it."""
    if _override is not None:
        return _override
    if wait is None:
        from domain.settings import IndexSettings

        wait = IndexSettings().lock_wait
    try:
        from index.lock import IndexLockedError
        from service.index_library import open_library
    except ImportError as exc:
        raise LibraryUnavailable(f"no index library is installed here ({exc})") from None
    deadline = time.monotonic() + wait
    announced = False
    while True:
        try:
            return open_library(read_only=read_only)
        except IndexLockedError as exc:
            # Another command's query holds the embedded index for a second or two, a flow for one batch:
            # wait for it (saying so at once), then give up naming the owner.
            if time.monotonic() >= deadline:
                raise LibraryUnavailable(
                    f"the index is locked by another process ({exc}); wait for it to finish or stop it"
                ) from None
            if not announced:
                print(f"waiting up to {wait:g} s for the index (SCOUT_INDEX_LOCK_WAIT): {exc}", file=sys.stderr,
                      flush=True)
                announced = True
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        except Exception as exc:  # noqa: BLE001 - reported as one line; the index layer owns the details
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LibraryUnavailable(f"cannot open the index: {reason}") from None


@contextmanager
def library_session(read_only: bool = True) -> Iterator[Library]:
    """`get_library()` for one command: a library opened here is closed (if it can be) at the end."""
    if _override is not None:
        yield _override
        return
    library = get_library(read_only=read_only)
    try:
        yield library
    finally:
        close = getattr(library, "close", None)
        if callable(close):
            close()


@contextmanager
def use_library(library: Library) -> Iterator[Library]:
    """Make `get_library()` return `library` inside the block (tests, embedding the CLI in other tools)."""
    global _override
    previous, _override = _override, library
    try:
        yield library
    finally:
        _override = previous


@contextmanager
def command_library(read_only: bool = True) -> Iterator[Library]:
    """`library_session()` for a CLI command: opening errors and index failures become one line and exit 1."""
    from rich.markup import escape

    from domain.limits import InputRejected
    from scout.commands._console import fail

    try:
        with library_session(read_only=read_only) as library:
            yield library
    except LibraryUnavailable as exc:
        fail(str(exc))
    except (TyperException, typer.Exit, typer.Abort):  # usage errors and exits keep their own codes
        raise
    except InputRejected as exc:  # the person's input, not the index: say what to change
        fail(escape(str(exc)))
    except Exception as exc:  # noqa: BLE001 - one line for the analyst; SCOUT_DEBUG=1 shows the traceback
        if os.environ.get("SCOUT_DEBUG"):
            raise
        reason = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        fail(f"the index failed: {reason} (SCOUT_DEBUG=1 shows the traceback)")
