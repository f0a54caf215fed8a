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

# Prefect's own ephemeral server must answer within 20 s (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS); on a
# busy 2-core machine its first start (database migrations) took longer. dualscout starts it itself and waits.
SERVER_STARTUP_TIMEOUT = 600.0
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


def wait_healthy(api_url: str, timeout: float = SERVER_STARTUP_TIMEOUT, process: subprocess.Popen | None = None) -> None:
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


def stop_process_group(process: subprocess.Popen, timeout: float = 8.0) -> None:
    """SIGTERM to the process' whole group (it was started in its own session), SIGKILL after `timeout`."""
    import signal

    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def flow_server(home: Path, status=None, timeout: float = SERVER_STARTUP_TIMEOUT) -> Iterator[str | None]:
    """A Prefect API for flows run from this process, for the duration of the block; yields its URL.

    With PREFECT_API_URL set, that server is used as it is (None is yielded). Otherwise the same server
    Prefect's ephemeral mode runs (its API without the UI) starts on a free loopback port in its own process
    group, and this waits for its health check for up to `timeout` seconds instead of Prefect's 20; `status`
    (a callable taking a message) hears what is happening. The server stops when the block ends.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    import prefect
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log_path = home / "prefect-server.log"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    say = status or (lambda message: None)
    say(f"starting Prefect's API server on 127.0.0.1:{port} (log: {log_path}); on a busy machine this takes a while")
    started = time.monotonic()
    with open(log_path, "ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "error", "--lifespan", "on"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            wait_healthy(api_url, timeout=timeout, process=server)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}; see {log_path}") from None
        say(f"Prefect's API server is up ({time.monotonic() - started:.0f} s)")
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            previous = os.environ.get("PREFECT_API_URL")
            os.environ["PREFECT_API_URL"] = api_url  # subprocesses (crawls) see the same server
            try:
                yield api_url
            finally:
                if previous is None:
                    os.environ.pop("PREFECT_API_URL", None)
                else:
                    os.environ["PREFECT_API_URL"] = previous
    finally:
        stop_process_group(server)


@contextmanager
def local_server(port: int, home: Path, log_path: Path | None = None) -> Iterator[dict[str, str]]:
    """A Prefect server on 127.0.0.1:port for the duration of the block; yields its environment."""
    env = prefect_env(port, home)
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    log = open(log_path or (home / "prefect-server.log"), "ab")
    server = subprocess.Popen([*_prefect(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
