"""Load check for `scout serve`: N concurrent clients search for D seconds on loopback; prints errors and latency.

    python bench/web_load.py                      # the real index under $SCOUT_HOME (or --home), 50 clients, 60 s
    python bench/web_load.py --fake --duration 20 # the in-memory fixture library (tests/web/fakes.py)

The server runs as a separate process (`python -m scout serve`, or this script with --serve-fake), so client
and server do not share an interpreter. Each client loops: pick a query, GET the JSON API or the HTML page, wait
for the answer, repeat until the deadline (bounded by --max-requests per client).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

QUERIES = [
    "radar absorbing metamaterial", "電波吸収材", "quantum sensor navigation", "量子センサ", "drone detection",
    "passive RF sensing", "lithium batteries cold weather", "メタサーフェス", "magnetometer", "GPS-denied navigation",
    "counter-UAS", "thin broadband absorber",
]
FILTERS = [{}, {"kind": "research"}, {"kind": "startup"}, {"lang": "ja"}, {"lang": "en"}, {"since": "2025"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_fake(port: int) -> None:
    """Serve the in-memory fixture library (the `--fake` server process)."""
    sys.path.insert(0, str(ROOT))
    import uvicorn

    from domain.settings import WebSettings
    from scout.web.app import create_app
    from tests.web.fakes import MemoryLibrary

    uvicorn.run(create_app(MemoryLibrary(), WebSettings(token=None)), host="127.0.0.1", port=port,
                log_level="warning")


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "HF_HUB_OFFLINE": "1", "SCOUT_WEB_TOKEN": ""}
    if args.home:
        env["SCOUT_HOME"] = str(Path(args.home).resolve())
    if args.fake:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-fake", "--port", str(port)]
    else:
        cmd = [sys.executable, "-m", "scout", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(cmd, cwd=ROOT, env=env)


async def wait_ready(base: str, proc: subprocess.Popen, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with code {proc.returncode} before it was ready")
            try:
                if (await client.get(base + "/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"the server was not ready after {timeout:.0f} s")


async def run_clients(base: str, clients: int, duration: float, max_requests: int, seed: int):
    import httpx

    latencies: dict[str, list[float]] = {"api": [], "page": []}
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def one_client(i: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(seed + i)
        for _ in range(max_requests):
            if time.monotonic() >= deadline:
                return
            door = "api" if rng.random() < 0.5 else "page"
            params = {"q": rng.choice(QUERIES), **rng.choice(FILTERS)}
            url = base + ("/api/search" if door == "api" else "/")
            start = time.perf_counter()
            try:
                response = await client.get(url, params=params, timeout=30)
                if response.status_code != 200:
                    errors[f"HTTP {response.status_code}"] += 1
                    continue
                if door == "api":
                    response.json()
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                continue
            latencies[door].append(time.perf_counter() - start)

    async with httpx.AsyncClient(limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(one_client(i, client) for i in range(clients)))
        elapsed = time.monotonic() - started
    return latencies, errors, elapsed


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(latencies: dict[str, list[float]], errors: Counter[str], elapsed: float, args) -> None:
    total_ok = sum(len(v) for v in latencies.values())
    total_err = sum(errors.values())
    print(f"{args.clients} clients, {elapsed:.1f} s, server: {'fake in-memory library' if args.fake else 'scout serve'}")
    print(f"requests: {total_ok + total_err}  ok: {total_ok}  errors: {total_err}  throughput: {total_ok / elapsed:.1f} req/s")
    for kind, count in sorted(errors.items()):
        print(f"  error {kind}: {count}")
    print(f"{'door':<6} {'n':>7} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for door, values in [("api", latencies["api"]), ("page", latencies["page"]),
                         ("all", latencies["api"] + latencies["page"])]:
        ms = [v * 1000 for v in values]
        print(f"{door:<6} {len(ms):>7} {pct(ms, 50):>9.1f} {pct(ms, 90):>9.1f} {pct(ms, 99):>9.1f} "
              f"{(max(ms) if ms else float('nan')):>9.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--max-requests", type=int, default=100_000, help="upper bound per client")
    parser.add_argument("--fake", action="store_true", help="serve the in-memory fixture library")
    parser.add_argument("--home", help="SCOUT_HOME for the real server (default: the environment's)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    port = args.port or free_port()
    if args.serve_fake:
        serve_fake(port)
        return 0

    base = f"http://127.0.0.1:{port}"
    proc = start_server(args, port)
    try:
        asyncio.run(wait_ready(base, proc, args.ready_timeout))
        latencies, errors, elapsed = asyncio.run(
            run_clients(base, args.clients, args.duration, args.max_requests, args.seed))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    report(latencies, errors, elapsed, args)
    return 1 if sum(errors.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
