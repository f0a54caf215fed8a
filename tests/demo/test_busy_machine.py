"""`scout demo` on a busy machine: two CPU-bound processes compete with it (and Prefect's server has to create
its database from scratch), and it still ends with exit status 0 and its totals. Prefect's own ephemeral
server gives up after 20 s; the demo starts the server itself and waits for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_end_to_end import slice_bundle

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HANG_AFTER = 1200  # seconds: the demo takes about 1 minute beside the hogs
HOG = "import time\nwhile True:\n    sum(i * i for i in range(10_000))\n"


def test_the_demo_survives_two_cpu_hogs(tmp_path, scout_home):
    slice_bundle(tmp_path / "bundle", arxiv=20, announcements=20)
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(2)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCOUT_HOME": str(scout_home), "SCOUT_NLP_MODEL": "hashing",
           "COLUMNS": "160"}
    env.pop("PREFECT_API_URL", None)
    env["PYTHONFAULTHANDLER"] = "1"  # a demo that hangs prints where each of its threads waits (SIGABRT below)
    try:
        demo = subprocess.Popen([sys.executable, "-m", "scout", "demo", "--bundle", str(tmp_path / "bundle"),
                                 "--needs-shown", "1", "--top", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = demo.communicate(timeout=HANG_AFTER)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGABRT)
            try:
                stdout, stderr = demo.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
                stdout, stderr = demo.communicate()
            pytest.fail(f"the demo hung for {HANG_AFTER} s; its threads' stacks:\n" + stdout[-3000:] + stderr[-12000:])
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert demo.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert "Prefect's API server is up" in stdout
    assert "demo finished" in stdout
    assert "passages embedded" in stdout and "new matches" in stdout  # the run's totals
    assert "Timed out while attempting to connect" not in stdout + stderr
