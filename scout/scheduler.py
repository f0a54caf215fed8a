"""Run dualscout's deployments locally: a Prefect server on loopback, the process work pool,
`prefect deploy --all` from prefect.yaml, and a worker. `scout schedule` and `make serve` call this."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from domain.processes import die_with_parent

PROJECT_DIR = Path(__file__).resolve().parents[1]
WORK_POOL = "dualscout-process"


def prefect_env(port: int, home: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        DUALSCOUT_DIR=str(PROJECT_DIR),
        HF_HUB_OFFLINE="1",
        DO_NOT_TRACK="1",
    )
    return env


def _prefect() -> list[str]:
    exe = Path(sys.executable).with_name("prefect")
    return [str(exe)] if exe.exists() else [shutil.which("prefect") or "prefect"]


def wait_healthy(api_url: str, timeout: float = 120.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {process.returncode}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the Prefect server at {api_url} did not become healthy in {timeout:.0f} s")


@contextmanager
def local_server(port: int, home: Path, log_path: Path | None = None) -> Iterator[dict[str, str]]:
    """A Prefect server on 127.0.0.1:port for the duration of the block; yields its environment."""
    env = prefect_env(port, home)
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    log = open(log_path or (home / "prefect-server.log"), "ab")
    server = subprocess.Popen([*_prefect(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                              preexec_fn=die_with_parent)  # gone with us even if we are SIGKILLed
    try:
        wait_healthy(env["PREFECT_API_URL"], process=server)
        yield env
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def deploy_all(env: dict[str, str]) -> None:
    """Create the process work pool (idempotent) and deploy everything in prefect.yaml."""
    run = dict(env=env, cwd=PROJECT_DIR, check=True, capture_output=True, text=True)
    subprocess.run([*_prefect(), "work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"], **run)
    subprocess.run([*_prefect(), "--no-prompt", "deploy", "--all", "--prefect-file", "prefect.yaml"], **run)


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([*_prefect(), "worker", "start", "--pool", WORK_POOL], env=env, cwd=PROJECT_DIR,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
