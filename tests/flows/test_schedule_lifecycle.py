"""`scout schedule` owns its Prefect server and worker: they run in its process group, SIGTERM or SIGINT stops all
of them within 10 s, and a second `scout schedule` on the same SCOUT_HOME says one is running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scout.scheduler import descendants
from tests.ports import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except OSError:
        return False


def _start(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCOUT_HOME": str(home), "COLUMNS": "200"}
    env.pop("PREFECT_API_URL", None)
    # its own session, as a shell would start it: the test can signal its group without signalling pytest
    return subprocess.Popen([sys.executable, "-m", "scout", "schedule", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait_for_worker(proc: subprocess.Popen, timeout: float = 300) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            pytest.fail("scout schedule exited early:\n" + "".join(lines))
        lines.append(line)
        if "worker started" in line:
            return lines
    pytest.fail("no worker after %d s:\n%s" % (timeout, "".join(lines)))


@pytest.mark.parametrize("how", ["SIGTERM to scout", "SIGINT to the group"])
def test_schedule_stops_server_and_worker_and_refuses_a_second_one(tmp_path, how):
    home = tmp_path / "home"
    port = free_port()
    proc = _start(home, port)
    try:
        _wait_for_worker(proc)
        children = descendants(proc.pid)
        assert len(children) >= 2  # the Prefect server and the worker (and what they started)
        assert all(os.getpgid(pid) == os.getpgid(proc.pid) for pid in children if _alive(pid))

        second = subprocess.run([sys.executable, "-m", "scout", "schedule", "--port", str(free_port())], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT), "SCOUT_HOME": str(home),
                                     "COLUMNS": "300"}, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert f"scout schedule is already running (pid {proc.pid}" in second.stderr, second.stderr

        started = time.monotonic()
        if how == "SIGTERM to scout":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal
        proc.wait(timeout=10)
        while any(_alive(pid) for pid in children) and time.monotonic() - started < 10:
            time.sleep(0.1)
        assert time.monotonic() - started < 10
        assert not [pid for pid in children if _alive(pid)]
        assert proc.returncode == 0, proc.stdout.read()
        assert not (home / "schedule.json").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
