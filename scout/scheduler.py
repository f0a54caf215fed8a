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


class PrefectServerError(RuntimeError):
    """Prefect's API server did not start (the message says why and where its log is)."""


def _flush_prefect_logs() -> None:
    """Send the flow runs' buffered log lines while the server is still up (else: "Error logging to API")."""
    for module, name in (("prefect.logging.handlers", "APILogWorker"), ("prefect.events.worker", "EventsWorker")):
        try:
            getattr(__import__(module, fromlist=[name]), name).drain_all(timeout=5)
        except Exception:  # noqa: BLE001 - losing a few log lines must not fail the run
            pass


@contextmanager
def flow_server(home: Path, status=None, timeout: float = SERVER_STARTUP_TIMEOUT) -> Iterator[str | None]:
    """A Prefect API for flows run from this process, for the duration of the block; yields its URL.

    With PREFECT_API_URL set (environment or Prefect profile), that server is used as it is (None is yielded). Otherwise the same server
    Prefect's ephemeral mode runs (its API without the UI) starts on a free loopback port in its own process
    group, and this waits for its health check for up to `timeout` seconds instead of Prefect's 20; `status`
    (a callable taking a message) hears what is happening. The server stops when the block ends.
    """
    import prefect
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value():  # the user's server (or a test harness)
        yield None
        return

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
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
    try:
        try:
            wait_healthy(api_url, timeout=timeout, process=server)
        except (RuntimeError, TimeoutError) as exc:
            raise PrefectServerError(f"{exc}; see {log_path}") from None
        say(f"Prefect's API server is up ({time.monotonic() - started:.0f} s)")
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            previous = os.environ.get("PREFECT_API_URL")
            os.environ["PREFECT_API_URL"] = api_url  # subprocesses (crawls) see the same server
            try:
                yield api_url
            finally:
                _flush_prefect_logs()
                if previous is None:
                    os.environ.pop("PREFECT_API_URL", None)
                else:
                    os.environ["PREFECT_API_URL"] = previous
    finally:
        stop_process_group(server)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren...), read from /proc; empty where there is none."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            # the command name (field 2) may hold spaces and parentheses: the ppid follows the last ")"
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def stop_processes(processes: list[subprocess.Popen], grace: float = 6.0) -> None:
    """SIGTERM to each process, then SIGKILL to whatever of them (and of their descendants, e.g. a worker's
    flow runs) is still alive after `grace` seconds. Returns once all of them have exited."""
    import signal

    alive = [p for p in processes if p.poll() is None]
    tree = {p.pid: descendants(p.pid) for p in alive}
    for p in alive:
        try:
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    for p in alive:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in alive:
        for pid in [*descendants(p.pid), *tree[p.pid]] if p.poll() is None else tree[p.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if p.poll() is None:
            p.kill()
        p.wait()


@contextmanager
def local_server(port: int, home: Path, log_path: Path | None = None,
                 new_session: bool = True, stop_with: list[subprocess.Popen] | None = None) -> Iterator[dict[str, str]]:
    """A Prefect server on 127.0.0.1:port for the duration of the block; yields its environment.
    `new_session=False` keeps it in the caller's process group (a signal to the group reaches it too).
    `stop_with`: processes the caller adds (its worker) that stop together with the server, in one grace
    period: stopped one after the other, a loaded machine took longer than `scout schedule`'s 10 s."""
    if port_in_use(port):
        raise RuntimeError(f"port {port} on 127.0.0.1 is already in use (another Prefect server?); "
                           "stop it or choose another --port")
    env = prefect_env(port, home)
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    log = open(log_path or (home / "prefect-server.log"), "ab")
    server = subprocess.Popen([*_prefect(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session,
                              preexec_fn=die_with_parent)  # gone with us even if we are SIGKILLed
    try:
        wait_healthy(env["PREFECT_API_URL"], process=server)
        yield env
    finally:
        stop_processes([server, *(stop_with or [])], grace=5.0)
        log.close()


def deploy_all(env: dict[str, str]) -> None:
    """Create the process work pool (idempotent) and deploy everything in prefect.yaml."""
    run = dict(env=env, cwd=PROJECT_DIR, capture_output=True, text=True)
    for command in ([*_prefect(), "work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"],
                    [*_prefect(), "--no-prompt", "deploy", "--all", "--prefect-file", "prefect.yaml"]):
        done = subprocess.run(command, **run)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout or "").strip().splitlines()
            raise RuntimeError(f"`prefect {' '.join(command[1:3])}` failed (exit {done.returncode}): "
                               f"{lines[-1] if lines else 'no output'}")


def start_worker(env: dict[str, str], log_path: Path, new_session: bool = True, *, name: str | None = None,
                 limit: int | None = None) -> subprocess.Popen:
    """A process worker on the project's pool (`limit`: flow runs it runs at once; None: no limit)."""
    options = [*(["--name", name] if name else []), *(["--limit", str(limit)] if limit else [])]
    with open(log_path, "ab") as log:
        return subprocess.Popen([*_prefect(), "worker", "start", "--pool", WORK_POOL, *options], env=env, cwd=PROJECT_DIR,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session,
                                preexec_fn=die_with_parent)


class ScheduleRunning(RuntimeError):
    """Another `scout schedule` runs with this SCOUT_HOME."""


class ScheduleLock:
    """One `scout schedule` per SCOUT_HOME: an OS lock (released when its process dies, however it dies) and a
    small file saying who holds it, so a second one says which process to stop instead of deploying against
    the first one's server."""

    def __init__(self, home: Path):
        self.lock_path = home / "schedule.lock"
        self.info_path = home / "schedule.json"
        self._lock = None

    def acquire(self, port: int) -> None:
        import json

        from filelock import FileLock, Timeout

        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_path), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            try:
                info = json.loads(self.info_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                info = {}
            raise ScheduleRunning(
                f"scout schedule is already running (pid {info.get('pid', '?')}, Prefect UI "
                f"http://127.0.0.1:{info.get('port', '?')}); stop it first (kill {info.get('pid', 'PID')})") from None
        self.info_path.write_text(json.dumps({"pid": os.getpid(), "port": port}), encoding="utf-8")
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self.info_path.unlink(missing_ok=True)
            self._lock.release()
            self._lock = None
