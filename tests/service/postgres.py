"""A throwaway PostgreSQL cluster (the Debian server binaries) on a free loopback port, for the analyst store's
server-database path. As root it runs as the `postgres` system user, since PostgreSQL refuses to run as root."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.ports import free_port

BIN = next((Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None) \
    if Path("/usr/lib/postgresql").is_dir() else None


def available() -> str | None:
    """None when a cluster can be started here, else why not."""
    if BIN is None or not (BIN / "initdb").exists():
        return "PostgreSQL server binaries are not installed (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user"
    return None


@contextmanager
def cluster() -> Iterator[str]:
    """Start a cluster in a new folder under the system temp dir (pytest's is private to root, and the server
    may run as `postgres`); yields its SQLAlchemy URL; stops it and removes the folder at the end."""
    folder = Path(tempfile.mkdtemp(prefix="scout-pg-"))
    data, sockets = folder / "pgdata", folder / "pgsock"
    sockets.mkdir(parents=True)
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        os.chown(sockets, entry.pw_uid, entry.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    def run(*args: str) -> None:
        done = subprocess.run([*as_postgres, *args], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")

    run(str(BIN / "initdb"), "-D", str(data), "-U", "scout", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
    run(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "pg.log"), "-w", "-t", "60", "start",
        "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off")
    try:
        url = f"postgresql+psycopg://scout@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        import psycopg

        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user=scout dbname=postgres").close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        subprocess.run([*as_postgres, str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
