"""Children never outlive us (issue 19.7): a flow that dies of SIGBUS left Prefect's server running, unexplained."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from domain.processes import ended_by, supervise

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and signals are POSIX")

# Starts a long-lived grandchild (as Prefect's ephemeral server is), then dies the way a full disk kills it.
DIES_OF_SIGBUS = """
import os, signal, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(str(child.pid))
os.kill(os.getpid(), signal.SIGBUS)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its new parent) is not running either
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_a_child_killed_by_sigbus_is_explained_and_its_children_are_ended(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    status = supervise([sys.executable, "-c", DIES_OF_SIGBUS, str(pid_file)], grace=5)
    assert status == -signal.SIGBUS
    assert "full disk" in ended_by(status)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(grandchild), "the grandchild outlived the supervised command"


def test_a_normal_exit_status_passes_through():
    assert supervise([sys.executable, "-c", "raise SystemExit(3)"]) == 3
    assert ended_by(0) is None and ended_by(3) is None


def test_scout_run_reports_a_failing_flow_in_one_line(tmp_path):
    env = {**os.environ, "SCOUT_HOME": str(tmp_path / "home"), "SCOUT_MIN_FREE_MB": str(10**12),
           "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-m", "scout", "run", "nonsense"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().startswith("error: unknown flow 'nonsense'")
    assert "Traceback" not in done.stderr
