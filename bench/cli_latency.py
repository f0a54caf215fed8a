"""Cold CLI latency on the demo index: wall and CPU time (p50/p95) of whole `scout` processes.

Each run is a fresh `python -m scout ...` process, as an analyst's shell starts it: imports, settings, opening
the index, loading what the command needs, answering, printing. Cases: `scout search` in English and in
Japanese (every run a different query, so no cache answers), `scout match NEED` and `scout --help`; first
with no server (the CLI opens the index itself), then with a `scout serve` running on the same SCOUT_HOME,
which owns the index and which the CLI discovers (`index.owner`): `search`, `match` and `needs` are then relayed
to it (`scout.relay`), so the client process only forwards the command line. CPU time is the client process' user+system time (getrusage); with a
server, the server's share of the work is in the wall time.

Runs on the demo index in SCOUT_HOME (`make demo` makes it); where there is none, it runs `scout demo` into a
temporary SCOUT_HOME first (minutes).

    PYTHONPATH=$PWD python bench/cli_latency.py [--home var] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EN_QUERIES = ["radar absorbing metamaterial", "quantum sensing for navigation without GPS",
              "underwater acoustic communication", "lithium sulfur battery for soldiers",
              "synthetic aperture radar ship detection", "counter drone detection with acoustic sensors",
              "hypersonic thermal protection materials", "satellite image change detection",
              "autonomous vehicle path planning in rough terrain", "low power edge AI accelerator",
              "graph neural network for anomaly detection", "infrared small target detection"]
JA_QUERIES = ["電波吸収メタマテリアル", "量子センシングを用いたGNSS非依存航法", "水中音響通信の研究",
              "小型衛星による合成開口レーダー観測", "ドローン検知のための音響センサ", "極超音速飛行体の熱防護材料",
              "衛星画像の変化検出", "不整地における自律走行", "低消費電力のエッジAI半導体",
              "異常検知のためのグラフニューラルネットワーク", "赤外線小目標検出", "リチウム硫黄電池"]


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit status) of one `python -m scout ...` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "scout", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"`scout {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.returncode


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cases(need_id: str, runs: int) -> list[tuple[str, list[list[str]]]]:
    return [
        ("scout search (English)", [["search", EN_QUERIES[i % len(EN_QUERIES)] + f" {i}"] for i in range(runs)]),
        ("scout search (Japanese)", [["search", JA_QUERIES[i % len(JA_QUERIES)] + f" {i}"] for i in range(runs)]),
        ("scout match NEED", [["match", need_id, "--limit", "10"] for _ in range(runs)]),
        ("scout --help", [["--help"] for _ in range(runs)]),
    ]


def measure(label: str, env: dict[str, str], need_id: str, runs: int) -> list[tuple]:
    rows = []
    for case, commands in cases(need_id, runs):
        walls, cpus = [], []
        for args in commands:
            wall, cpu, _ = timed(args, env)
            walls.append(wall)
            cpus.append(cpu)
        rows.append((case, label, statistics.median(walls), p95(walls), statistics.median(cpus), p95(cpus)))
        print(f"  {case:26s} {label:18s} wall p50 {rows[-1][2]:.2f} s  cpu p50 {rows[-1][4]:.2f} s", file=sys.stderr)
    return rows


def start_serve(env: dict[str, str], home: Path) -> subprocess.Popen:
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "scout", "serve", "--port", str(port)], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise SystemExit(f"scout serve exited: {serve.stderr.read()[-1000:]}")
        try:  # the server names its owner endpoint in the index's discovery file once it listens
            info = json.loads((home / "index" / ".owner.json").read_text(encoding="utf-8"))
            if info.get("pid") == serve.pid and info.get("endpoint"):
                return serve
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    serve.kill()
    raise SystemExit("scout serve did not come up in 600 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("SCOUT_HOME") or ROOT / "var"))
    parser.add_argument("--runs", type=int, default=10)
    opts = parser.parse_args()
    home = opts.home.resolve()
    env = {**os.environ, "SCOUT_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
           "COLUMNS": "160"}
    # As an analyst's shell runs it: Python writes (and then reuses) the project's bytecode; a runner that
    # forbids it would time the compiler on every run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not (home / "index").exists():
        import tempfile

        home = Path(tempfile.mkdtemp(prefix="dualscout-cli-bench-"))
        env["SCOUT_HOME"] = str(home)
        print(f"no demo index in {opts.home}: running `scout demo` into {home} first", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "scout", "demo"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    needs = json.loads(subprocess.run([sys.executable, "-m", "scout", "needs", "--json"], cwd=ROOT, env=env,
                                      capture_output=True, text=True, check=True).stdout)
    if not needs:
        raise SystemExit(f"the index in {home} has no needs: run the demo first")
    need_id = needs[0]["id"]
    load_before = os.getloadavg()
    print(f"cold CLI latency, {opts.runs} runs per case, SCOUT_HOME={home}", file=sys.stderr)
    # one untimed search first: the ONNX query encoder is made (once) if the ingest did not make it
    timed(["search", "warm-up"], env)
    rows = measure("no server", env, need_id, opts.runs)
    serve = start_serve(env, home)
    try:
        timed(["search", "warm-up"], env)  # the server loads its query parts on its first query
        rows += measure("through scout serve", env, need_id, opts.runs)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    load_after = os.getloadavg()

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Cold `scout` processes on the demo index ({opts.runs} runs each)")
    for column in ("command", "mode", "wall p50", "wall p95", "CPU p50", "CPU p95"):
        table.add_column(column, justify="left" if column in ("command", "mode") else "right")
    for case, label, w50, w95, c50, c95 in rows:
        table.add_row(case, label, f"{w50:.2f} s", f"{w95:.2f} s", f"{c50:.2f} s", f"{c95:.2f} s")
    console = Console(width=120)
    console.print(table)
    cores = os.cpu_count() or 1
    # the load before: the benchmark itself keeps one core busy while it runs, which is not "a busy machine"
    busy = load_before[0] > 0.5 * cores
    console.print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, on {cores} cores: "
                  + ("[yellow]the machine was busy[/] (wall times inflated; CPU time is the steadier figure)"
                     if busy else "the machine was idle"))
    by = {(case, label): (w50, c50) for case, label, w50, _, c50, _ in rows}
    en_cold, en_served = by[("scout search (English)", "no server")], by[("scout search (English)", "through scout serve")]
    console.print(f"search through scout serve / cold: wall {en_served[0] / en_cold[0]:.2f}x, "
                  f"CPU {en_served[1] / en_cold[1]:.2f}x (targets on an idle 2-core machine: cold <= 1.5 s, "
                  f"through serve <= 0.3 s)")


if __name__ == "__main__":
    main()
