"""Files of a dualscout home on a shared machine: folders 0700 and state files 0600 when we create them, and
secrets written whole with 0600 (a new file renamed over the old, so an old file's looser mode never survives).

Folders and files that already exist keep their mode: the owner may have shared them on purpose.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path | str) -> Path:
    """`mkdir -p` with every folder it creates 0700 (`Path.mkdir(parents=True)` gives parents the umask mode)."""
    path = Path(path)
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made by a concurrent process meanwhile
        os.chmod(folder, DIR_MODE)  # mkdir's mode is masked by the umask; 0700 needs no widening, only this
    return path


def private_file(path: Path | str) -> Path:
    """Create `path` empty with mode 0600 unless it exists (call before sqlite opens it: SQLite gives its
    -wal and -shm files the database file's mode)."""
    path = Path(path)
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    return path


def write_secret(path: Path | str, text: str) -> Path:
    """Write `text` to `path` readable by this user only, every time: a fresh 0600 file, fsynced, renamed over
    any old one (truncating an old file in place would keep its mode, e.g. 0644)."""
    path = Path(path)
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class DiskSpaceError(RuntimeError):
    """Too little free space to write safely (a full disk mid-write can corrupt the index or kill the process)."""


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def check_free_space(path: Path | str, minimum_bytes: int, *, statvfs=os.statvfs) -> int:
    """The free bytes on the disk holding `path` (or its nearest existing parent); raises DiskSpaceError, naming
    the path and the free space, when fewer than `minimum_bytes` are available to this user."""
    where = Path(path)
    while not where.exists() and where != where.parent:
        where = where.parent
    st = statvfs(str(where))
    free = st.f_bavail * st.f_frsize
    if free < minimum_bytes:
        raise DiskSpaceError(
            f"only {_human(free)} free on the disk of {where}, below the {_human(minimum_bytes)} needed "
            f"(SCOUT_MIN_FREE_MB); free some space and run again: nothing was written"
        )
    return free
