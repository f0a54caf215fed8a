"""One process owns an embedded index at a time.

Qdrant Edge and qdrant-client's local mode both assume a single writer per folder; a second process would
corrupt the shard or fail obscurely. `OwnerLock` takes an OS-level lock (filelock) on `<index>/.owner.lock`
and writes who holds it to `<index>/.owner.json`, so a second opener gets an `IndexLockedError` naming the
owner (or, when the owner serves the index, reaches it there: `index.owner`). The OS releases the lock when its process dies, so a stale `.owner.json` left by a killed process
never blocks anyone: it is simply overwritten.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from domain.files import private_dir, write_secret
from index.owner import OWNER_FILE, TOKEN_FILE, settings_digest


class IndexLockedError(RuntimeError):
    """The index folder is open in another process."""

    def __init__(self, path: Path, owner: dict):
        self.path = path
        self.owner = owner
        who = f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}"
        cmd = owner.get("command")
        since = owner.get("started")
        super().__init__(
            f"the index at {path} is in use by {who}"
            + (f" ({cmd})" if cmd else "")
            + (f" since {since}" if since else "")
            + "; stop that process or point SCOUT_INDEX_PATH at another folder"
        )


class OwnerLock:
    def __init__(self, folder: Path, command: str | None = None):
        self.folder = Path(folder)
        self.lock_path = self.folder / ".owner.lock"
        self.info_path = self.folder / OWNER_FILE
        self.command = command or " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])[:200]
        self._lock: FileLock | None = None

    def read_owner(self) -> dict:
        try:
            return json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        private_dir(self.folder)
        # thread_local=False and is_singleton=False: this object owns the lock for the process' lifetime.
        lock = FileLock(str(self.lock_path), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise IndexLockedError(self.folder, self.read_owner()) from None
        # We hold the OS lock, so any .owner.json still here was left by a killed owner: replace it.
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self._write_info(info)
        self._lock = lock

    def _write_info(self, info: dict) -> None:
        tmp = self.info_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.replace(tmp, self.info_path)

    @property
    def token_path(self) -> Path:
        return self.folder / TOKEN_FILE

    def advertise(self, endpoint: str, backend: str, dim: int) -> str:
        """Tell other processes where the owner serves the index (`index.owner`: the endpoint, the backend, the
        vector size and the digest of the settings it answers with); returns the token they must present. The token file is
        readable by this user only: the endpoint is on loopback, the token keeps other local users out."""
        if self._lock is None:
            raise RuntimeError("only the owner can advertise the index")
        token = secrets.token_urlsafe(32)
        write_secret(self.token_path, token)  # a new 0600 file every time, whatever mode an old one had
        self._write_info({**self.read_owner(), "endpoint": endpoint, "backend": backend, "dim": dim,
                          "settings": settings_digest()})
        return token

    def release(self) -> None:
        if self._lock is not None:
            try:
                self.info_path.unlink(missing_ok=True)
                self.token_path.unlink(missing_ok=True)
            finally:
                self._lock.release()
                self._lock = None
