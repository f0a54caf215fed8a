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
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"scout serve exited: {proc.stdout.read()}")
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    pytest.fail("scout serve did not come up")


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
