"""`scout serve`: the bind rule, and the real command serving over HTTP in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from scout.cli import app
from tests.ports import free_port
from tests.web.fakes import MemoryLibrary

ROOT = Path(__file__).resolve().parents[2]

# The real `scout serve` command, with the in-memory library put behind get_library().
SERVE_FAKE = """
import sys
from scout.cli import app
from scout.commands._library import use_library
from tests.web.fakes import MemoryLibrary
with use_library(MemoryLibrary()):
    app(["serve", *sys.argv[1:]])
"""


STRONG = "k7Qw-2mZp_9xLr4Tb8Vn"


@pytest.mark.parametrize("weak", ["", "   ", "x", "t0k3n", "aaaaaaaaaaaaaaaaaaaaaaaa", "passwordpassword"])
def test_a_blank_short_or_predictable_token_is_refused_in_one_line(monkeypatch, weak):
    """Issue 19.6: a one-character or blank SCOUT_WEB_TOKEN used to be accepted (blank: no token at all)."""
    result = CliRunner().invoke(app, ["serve"], env={"SCOUT_WEB_TOKEN": weak, "COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: SCOUT_WEB_TOKEN refused: ")
    assert weak.strip() == "" or weak not in lines[0]  # the refused secret is not echoed


def test_non_loopback_bind_needs_a_token(monkeypatch):
    monkeypatch.delenv("SCOUT_WEB_TOKEN", raising=False)
    for host in ("0.0.0.0", "192.168.10.4", "::"):
        result = CliRunner().invoke(app, ["serve", "--host", host], env={"COLUMNS": "200"})
        assert result.exit_code == 2, host
        assert "SCOUT_WEB_TOKEN" in result.output
        assert "Traceback" not in result.output


def test_token_lets_a_non_loopback_bind_past_the_check(monkeypatch):
    # With a token the bind rule passes; the command then needs a library, which is absent here.
    monkeypatch.setitem(sys.modules, "service.index_library", None)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"], env={"SCOUT_WEB_TOKEN": STRONG})
    assert result.exit_code == 1
    assert "no index library" in result.output


def test_named_users_let_a_non_loopback_bind_past_the_check(monkeypatch):
    from service.analyst import open_analyst_store

    monkeypatch.delenv("SCOUT_WEB_TOKEN", raising=False)
    monkeypatch.setitem(sys.modules, "service.index_library", None)
    with open_analyst_store() as store:
        store.add_user("ann", "viewer")
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "no index library" in result.output  # past the bind rule


def _serve(port: int, token: str = "") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCOUT_WEB_TOKEN": token}
    if not token:
        env.pop("SCOUT_WEB_TOKEN")  # no token at all (a blank one is refused: see below)
    return subprocess.Popen([sys.executable, "-c", SERVE_FAKE, "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180  # a busy machine is normal
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"scout serve exited: {proc.stdout.read()}")
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    pytest.fail("scout serve did not come up")


def _wait_advertised(home: Path) -> None:
    deadline = time.monotonic() + 20
    while not (home / "serve.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.parametrize("token", ["", "a-long-random-token"])
def test_scout_serve_answers_on_loopback(token):
    port = free_port()
    proc = _serve(port, token)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        needs = httpx.get(url + "/api/needs", headers={"Authorization": f"Bearer {token}"} if token else {})
        assert needs.status_code == 200
        assert [n["id"] for n in needs.json()] == [n.id for n in MemoryLibrary().needs()]
        page = httpx.get(url + "/needs")
        assert page.status_code == (401 if token else 200)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in out
    assert ("token required" in out) == bool(token)


def test_cli_queries_go_through_a_running_serve(scout_home):
    """`scout serve` advertises itself in SCOUT_HOME; the CLI finds it, checks it is alive and asks it (no index
    is opened here: the fake library lives only in the server process)."""
    import json

    from scout.commands._library import get_library
    from scout.commands._served import ServedLibrary, served_library

    port = free_port()
    proc = _serve(port)
    try:
        _wait(f"http://127.0.0.1:{port}", proc)
        _wait_advertised(scout_home)
        info = json.loads((scout_home / "serve.json").read_text())
        assert info["pid"] == proc.pid and info["url"] == f"http://127.0.0.1:{port}"
        library = get_library()
        assert isinstance(library, ServedLibrary)
        expected = MemoryLibrary()
        need = expected.needs()[0]
        assert [d.id for d in library.needs()] == [d.id for d in expected.needs()]
        assert library.match(need.id, limit=3) == expected.match(need.id, limit=3)
        assert library.search("quantum", limit=5).hits == expected.search("quantum", limit=5).hits
        assert library.document("no-such-id") is None
        assert library.organization("nobody at all") is None
        with pytest.raises(KeyError):
            library.match("no-such-need")
        result = CliRunner().invoke(app, ["needs", "--json"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert [d["id"] for d in json.loads(result.output)] == [d.id for d in expected.needs()]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert not (scout_home / "serve.json").exists()  # withdrawn when the server stops
    # a file left by a killed server (dead pid) is ignored
    (scout_home / "serve.json").write_text(json.dumps({"url": f"http://127.0.0.1:{port}", "pid": 2 ** 22 + 7,
                                                       "index": info["index"]}))
    assert served_library() is None


RELAY_CLIENT = """
import sys
from scout.relay import relay
code = relay(sys.argv[1:])
heavy = sorted(m for m in ("typer", "pydantic", "rich", "numpy", "domain.settings", "scout.cli") if m in sys.modules)
sys.stderr.write(f"\\nrelayed: {code} {heavy}\\n")
"""


def _relay(argv: list[str], **env: str) -> tuple[str, str, str]:
    """(stdout, stderr, the client's last line) of the relay client run in its own process."""
    done = subprocess.run([sys.executable, "-c", RELAY_CLIENT, *argv], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", **env}, timeout=300)
    *rest, last = done.stderr.rstrip("\n").split("\n")
    return done.stdout, "\n".join(rest).strip(), last


def test_query_commands_are_relayed_to_a_running_serve(scout_home):
    """Issue 16: with `scout serve` running, `scout search/match/org/needs` print what the same command prints
    locally, from a client process that imports no CLI, pydantic, rich or numpy; anything it cannot answer the
    same way (other settings, another command, --help) is left to the local CLI."""
    from scout.commands._library import use_library

    port = free_port()
    proc = _serve(port)
    try:
        _wait(f"http://127.0.0.1:{port}", proc)
        _wait_advertised(scout_home)
        need = MemoryLibrary().needs()[0]
        for argv in (["needs"], ["needs", "--json"], ["search", "quantum", "--limit", "5"],
                     ["match", need.id, "--limit", "3"], ["match", "no-such-need"]):
            with use_library(MemoryLibrary()):
                local = CliRunner().invoke(app, argv, env={"COLUMNS": "120"})
            out, err, last = _relay(argv)
            assert last == f"relayed: {local.exit_code} []", (argv, last, err)
            assert out == local.stdout, argv
            assert err == local.stderr.strip(), argv
        assert _relay(["needs"], SCOUT_NLP_BATCH_SIZE="7")[2].startswith("relayed: None")  # other settings
        assert _relay(["needs", "--help"])[2].startswith("relayed: None")
        assert _relay(["export", "matches"])[2].startswith("relayed: None")  # writes files: runs here
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert _relay(["needs"])[2].startswith("relayed: None")  # no server any more


def test_a_gated_serve_relays_only_for_a_token(scout_home):
    port = free_port()
    proc = _serve(port, STRONG)
    try:
        _wait(f"http://127.0.0.1:{port}", proc)
        _wait_advertised(scout_home)
        assert _relay(["needs"], SCOUT_WEB_TOKEN="")[2].startswith("relayed: None")
        assert _relay(["needs"], SCOUT_WEB_TOKEN="wrong-" + STRONG)[2].startswith("relayed: None")
        out, _, last = _relay(["needs", "--json"], SCOUT_WEB_TOKEN=STRONG)
        assert last == "relayed: 0 []"
        assert [d["id"] for d in __import__("json").loads(out)] == [d.id for d in MemoryLibrary().needs()]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
