"""The `scout` entry point, and its relay to the `scout serve` that owns the index.

An analyst's query command (`search`, `match`, `org`, `needs`) spends most of a cold process on start-up:
Python imports the CLI, pydantic, the settings and the result models before it asks anything. When `scout serve`
owns the embedded index, it has all of that loaded: the relay sends it the command line through the index's
owner endpoint (`index.owner`: found through `<index>/.owner.json`, authenticated by the owner token) and prints
what the command printed there, so the client imports nothing but the standard library. The pattern is a build
daemon's client (mypy's dmypy, Gradle's): a thin process forwarding to a warm one.

The rule (README, "With `scout serve` running"): a query command is run by the owner when the owner serves the
index and its settings digest is this process' (same SCOUT_* settings, same home, same index); the request
carries the command line and the terminal's width and colours, never settings. Otherwise (no owner, other
settings, `--help`, `SCOUT_DEBUG`, a command that writes files) the command runs here with this process' own
settings, and an index the owner holds is read through the same endpoint (`index.backends.remote`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys

RELAYED = frozenset({"search", "match", "org", "needs"})
LOCAL_OPTIONS = frozenset({"--help", "-h", "--install-completion", "--show-completion"})
CONNECT_TIMEOUT = 1.0  # an owner that cannot take a connection this fast is not used
MAX_ARGS = 64  # a relayed command line's bounds (the owner refuses more: `scout.relay_server`)
MAX_ARG_CHARS = 4000


def main() -> None:
    code = relay(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from scout.cli import main as cli_main

    cli_main()


def terminal() -> dict:
    """What the owner may know of this terminal: its width, whether it is one, its colours."""
    env = os.environ
    tty = sys.stdout.isatty() or bool(env.get("FORCE_COLOR"))
    if env.get("NO_COLOR") or env.get("TERM") in ("dumb", "unknown"):
        colour = "none"
    elif env.get("COLORTERM") in ("truecolor", "24bit"):
        colour = "truecolor"
    elif "256" in env.get("TERM", ""):
        colour = "256"
    else:
        colour = "standard"
    columns = shutil.get_terminal_size().columns if tty or "COLUMNS" in env else None
    return {"tty": tty, "columns": min(max(columns, 20), 1000) if columns else None, "colour": colour}


def relay(argv: list[str]) -> int | None:
    """Run `argv` on the owner of this index and print its output; its exit status, or None when the command
    must run here."""
    if not argv or argv[0] not in RELAYED or any(a in LOCAL_OPTIONS for a in argv):
        return None
    if os.environ.get("SCOUT_DEBUG") or os.environ.get("SCOUT_INDEX_BACKEND") == "server":
        return None  # tracebacks belong in this terminal; a Qdrant server has no owner process
    if len(argv) > MAX_ARGS or any(len(a) > MAX_ARG_CHARS for a in argv):
        sys.stderr.write(f"error: a query command takes at most {MAX_ARGS} arguments of {MAX_ARG_CHARS:,} "
                         "characters each\n")
        return 2
    from domain.home import index_folder
    from index.owner import OwnerError, detail, find_owner, settings_digest

    owner = find_owner(index_folder())
    if owner is None or owner.settings != settings_digest():
        return None
    body = json.dumps({"argv": argv, "terminal": terminal()}).encode("utf-8")
    client = owner.client(connect_timeout=CONNECT_TIMEOUT)
    try:
        status, data = client.post("command", body)
    except OwnerError:
        return None  # the owner is stopping: the command opens the index here
    finally:
        client.close()
    if status in (400, 413, 422):  # the owner read the request and refused it: say why, do not retry here
        sys.stderr.write(f"error: {detail(data)}\n")
        return 2
    try:
        answer = json.loads(data.decode("utf-8")) if status == 200 else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("exit_code"), int):
        return None  # an older or failing owner: run here (its storage calls still go through the owner)
    sys.stdout.write(str(answer.get("stdout", "")))
    sys.stdout.flush()
    sys.stderr.write(str(answer.get("stderr", "")))
    return answer["exit_code"]
