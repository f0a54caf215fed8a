"""How a process reaches an embedded index that another process owns: one discovery file, one token, one client.

An embedded shard (Qdrant Edge, qdrant-client's local mode) may be open in one process only (`index.lock`). When
that owner is `scout serve`, it serves the index to the other processes of this machine at its *owner endpoint*
(`/internal/index/...` on loopback, `index.backends.owner_routes`):
- the discovery file is the owner lock's `<index>/.owner.json`: the owner's pid, its endpoint, its backend, its
  vector size and a digest of the settings it answers with (`settings_digest`);
- the one credential is `<index>/.owner.token`, a fresh random token each run, readable by this user only
  (whoever may open the index folder may reach its owner; nobody else can);
- `OwnerClient` is the one client, for two kinds of requests: storage calls (`index.backends.remote.RemoteBackend`,
  which any `Index` opened while the owner serves uses instead of failing on the lock) and whole query commands
  (`scout.relay`: `scout search` printed by the owner, which has the model loaded).

The rule for which one a command uses is `scout.relay`'s: see the README ("With `scout serve` running").
Standard library only: the CLI's relay imports this module before anything heavier.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

OWNER_FILE = ".owner.json"
TOKEN_FILE = ".owner.token"
PREFIX = "/internal/index/"
COMMAND = "command"  # the operation that runs a whole query command (`scout.relay`)
# Bounds the owner enforces (413 beyond them): a command line is a few hundred bytes; a storage call carries at
# most one upsert chunk (`index.backends.remote` splits larger writes).
MAX_COMMAND_BYTES = 64 * 1024
MAX_CALL_BYTES = 32 * 1024 * 1024
# What the settings digest leaves out: the server's own address and token, tracebacks, and the two paths (the
# digest takes them resolved, so `var` and `/abs/var` are one home).
_NOT_SETTINGS_PREFIXES = ("SCOUT_WEB_",)
_NOT_SETTINGS = frozenset({"SCOUT_DEBUG", "SCOUT_HOME", "SCOUT_INDEX_PATH"})


class OwnerError(RuntimeError):
    """The owner did not answer, or refused a request: one line saying which and why."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def settings_digest(environ: dict[str, str] | None = None) -> str:
    """A digest of the settings that shape an answer: this process' SCOUT_* environment and its two folders.
    The owner writes its own into the discovery file; a command is run by the owner only when they agree."""
    from domain.home import index_folder, scout_home

    env = os.environ if environ is None else environ
    settings = sorted((k, v) for k, v in env.items() if k.startswith("SCOUT_") and k not in _NOT_SETTINGS
                      and not k.startswith(_NOT_SETTINGS_PREFIXES))
    data = json.dumps({"home": str(scout_home()), "index": str(index_folder()), "settings": settings})
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]


def pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class Owner:
    """What the discovery file says about a serving owner. (A plain class: `dataclasses` imports `inspect`,
    which would cost the relay client more than its whole request.)"""

    __slots__ = ("endpoint", "token", "pid", "backend", "settings", "dim")

    def __init__(self, endpoint: str, token: str, pid: int, backend: str | None, settings: str | None,
                 dim: int | None = None):
        self.endpoint, self.token, self.pid = endpoint, token, pid
        self.backend, self.settings, self.dim = backend, settings, dim

    def client(self, connect_timeout: float = 5.0) -> "OwnerClient":
        return OwnerClient(self.endpoint, self.token, connect_timeout=connect_timeout)


def read_info(folder: Path) -> dict:
    try:
        info = json.loads((Path(folder) / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def find_owner(folder: Path) -> Owner | None:
    """The live process serving the index in `folder`, or None (no owner, an owner that does not serve, a file
    left by a killed one, a token this user cannot read)."""
    info = read_info(folder)
    endpoint, pid = info.get("endpoint"), info.get("pid")
    if not isinstance(endpoint, str) or not endpoint.startswith("http://") or not pid_alive(pid):
        return None
    try:
        token = (Path(folder) / TOKEN_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not token:
        return None
    dim = info.get("dim")
    return Owner(endpoint=endpoint, token=token, pid=pid, backend=info.get("backend"), settings=info.get("settings"),
                 dim=dim if isinstance(dim, int) else None)


class OwnerClient:
    """The client of an owner endpoint: JSON requests with the owner's token, over one kept-alive connection."""

    def __init__(self, endpoint: str, token: str, *, connect_timeout: float = 5.0, timeout: float = 600.0):
        parts = urlsplit(endpoint)
        self.endpoint = endpoint
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                         "Accept": "application/json"}
        self._connect_timeout, self._timeout = connect_timeout, timeout
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def post(self, op: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of one request; `OwnerError` when the owner cannot be reached. Every operation is
        idempotent, so a kept-alive connection the owner closed meanwhile is reopened once."""
        with self._lock:
            for attempt in (0, 1):
                fresh = self._connection is None
                try:
                    if fresh:
                        self._connection = http.client.HTTPConnection(self._host, self._port,
                                                                      timeout=self._connect_timeout)
                        self._connection.connect()
                        self._connection.sock.settimeout(self._timeout)
                    self._connection.request("POST", PREFIX + op, body=body, headers=self._headers)
                    response = self._connection.getresponse()
                    return response.status, response.read()
                except (OSError, http.client.HTTPException) as exc:
                    self._drop()
                    if fresh or attempt:
                        raise OwnerError(f"the index owner at {self.endpoint} did not answer: {exc}") from None
            raise AssertionError("unreachable")

    def call(self, op: str, **args: object) -> object:
        """The JSON answer of one operation; `OwnerError` with the owner's one-line reason when refused."""
        status, data = self.post(op, json.dumps(args).encode("utf-8"))
        if status != 200:
            raise OwnerError(f"the index owner at {self.endpoint} refused {op}: {status} {detail(data)}", status)
        return json.loads(data.decode("utf-8"))

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop()


def detail(data: bytes) -> str:
    """The one-line reason in an error answer (FastAPI's `{"detail": ...}`), else its first 200 characters."""
    try:
        reason = json.loads(data.decode("utf-8")).get("detail")
    except (ValueError, AttributeError, UnicodeDecodeError):
        reason = None
    if not isinstance(reason, str):
        reason = data[:200].decode("utf-8", "replace")
    return (reason.splitlines() or [""])[0]
