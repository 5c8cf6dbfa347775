"""A throwaway PostgreSQL server for the tests, from Debian's `postgresql` binaries.

initdb into a temporary folder, start on a free loopback port (as the `postgres` user when the
tests run as root, which PostgreSQL requires), create a database per test, stop at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from tests.ports import free_port


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return found[0] if found else shutil.which(name)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PostgresServer:
    port: int
    folder: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://monitor@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=monitor dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def ctl(self, *args: str) -> None:
        pg_ctl = _binary("pg_ctl")
        assert pg_ctl
        subprocess.run(_as_postgres([pg_ctl, "-D", f"{self.folder}/data", *args]), check=True,
                       capture_output=True, timeout=60)

    def stop(self) -> None:
        self.ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        self.ctl("-l", f"{self.folder}/log", "-w", "-o",
                 f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")


def unavailable_reason() -> str | None:
    if _binary("initdb") is None or _binary("pg_ctl") is None:
        return "PostgreSQL server binaries not found (Debian package postgresql; `make test` installs it as root)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to start PostgreSQL as the postgres user"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    return None


def start_server() -> Iterator[PostgresServer]:
    folder = tempfile.mkdtemp(prefix="monitor-pg-")
    os.chmod(folder, 0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    initdb = _binary("initdb")
    assert initdb
    subprocess.run(_as_postgres([initdb, "-D", f"{folder}/data", "-A", "trust", "-U", "monitor"]), check=True,
                   capture_output=True, timeout=120)
    server = PostgresServer(free_port(), folder)
    server.start()
    try:
        yield server
    finally:
        subprocess.run(_as_postgres([_binary("pg_ctl") or "pg_ctl", "-D", f"{folder}/data", "-m", "immediate",
                                     "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
