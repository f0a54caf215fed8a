"""The `scout` entry point, and its relay to a running `scout serve`.

An analyst's query command (`search`, `match`, `org`, `needs`) spends most of a cold process on start-up:
Python imports the CLI, pydantic, the settings and the result models before it asks anything. When a
`scout serve` of the same SCOUT_HOME runs, it has all of that loaded: the relay sends it the command line
and prints what the command printed there (the server runs the same Typer command against its own library),
so the client imports nothing but the standard library. The pattern is a build daemon's client (mypy's
dmypy, Gradle's): a thin process forwarding to a warm one.

The relay is used only when it cannot change the answer: the command is a read-only query that prints and
writes no file, the server's `serve.json` names a live process, and the client's SCOUT_* environment is the
server's (same settings, same index). Anything else (no server, another environment, an older server, a
refused token, a connection error) runs the command here, as before, which still goes through the server's
API where one runs (`scout.commands._served`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

RELAYED = frozenset({"search", "match", "org", "needs"})
LOCAL_OPTIONS = frozenset({"--help", "-h", "--install-completion", "--show-completion"})
ROUTE = "/api/cli"
REQUEST_TIMEOUT = 600.0  # a match over a large index may take a while on a busy machine
CONNECT_TIMEOUT = 1.0  # a server that cannot take a connection this fast is not used
# What the server compares: the settings (SCOUT_*) that shape an answer. The token only authenticates.
_NOT_COMPARED = frozenset({"SCOUT_WEB_TOKEN", "SCOUT_DEBUG", "SCOUT_HOME"})


def main() -> None:
    code = relay(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from scout.cli import main as cli_main

    cli_main()


def scout_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("SCOUT_") and k not in _NOT_COMPARED}


def relay(argv: list[str]) -> int | None:
    """Run `argv` on the `scout serve` of this SCOUT_HOME and print its output; its exit status, or None
    when the command must run here."""
    if not argv or argv[0] not in RELAYED or any(a in LOCAL_OPTIONS for a in argv):
        return None
    if os.environ.get("SCOUT_DEBUG"):
        return None  # tracebacks belong in this terminal
    from domain.home import scout_home

    try:
        info = json.loads((scout_home() / "serve.json").read_text(encoding="utf-8"))
        url = info["url"]
        pid = info["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not pid_alive(pid) or not isinstance(url, str) or not url.startswith("http://"):
        return None
    tty = sys.stdout.isatty()
    terminal = {k: os.environ[k] for k in ("TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR") if k in os.environ}
    body = json.dumps({"argv": argv, "environment": scout_environment(), "tty": tty, "terminal": terminal,
                       "columns": shutil.get_terminal_size().columns if tty or "COLUMNS" in os.environ else None})
    answer = _post(url, body.encode("utf-8"), os.environ.get("SCOUT_WEB_TOKEN"))
    if answer is None:
        return None
    sys.stdout.write(answer.get("stdout", ""))
    sys.stdout.flush()
    sys.stderr.write(answer.get("stderr", ""))
    return int(answer.get("exit_code", 1))


def _post(url: str, body: bytes, token: str | None) -> dict | None:
    """The server's answer, or None for anything but a completed run (the command then runs here)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                            timeout=CONNECT_TIMEOUT)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.connect()
        connection.sock.settimeout(REQUEST_TIMEOUT)
        connection.request("POST", ROUTE, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            return None
        answer = json.loads(data.decode("utf-8"))
        return answer if isinstance(answer, dict) and "exit_code" in answer else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
