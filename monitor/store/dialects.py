"""Everything dialect-specific lives here: engine options and connection set-up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select, text

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10


def make_engine(url: str) -> Engine:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    # pre_ping: after a database restart the pool's dead connections are replaced, not used.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S})


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (status, items) run while the daemon writes; NORMAL is safe with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def sqlite_path(url: str) -> str | None:
    """The file behind a SQLite URL, or None for other databases and in-memory ones."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        return url[len(prefix):]
    return None


def db_now(conn: Connection) -> Any:
    """"Now" for lease times: the database's clock where it has one shared by every worker
    (PostgreSQL's now(), the transaction's start); SQLite serves one process, so the host's."""
    if conn.dialect.name == "postgresql":
        return func.now()
    return datetime.now(UTC)


def db_time(conn: Connection) -> datetime:
    """The value of ``db_now`` (an aware UTC datetime)."""
    now = db_now(conn)
    if isinstance(now, datetime):
        return now
    value: datetime = conn.execute(select(now)).scalar_one()
    return value.astimezone(UTC)


def serialize(conn: Connection, key: str) -> None:
    """Make the transactions that call this with one key take turns (until commit). PostgreSQL: a
    transaction-level advisory lock; SQLite has a single writer already."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def divides_by_leases(url: str) -> bool:
    """Whether several daemons may share this database, dividing the work by leases (PostgreSQL);
    a SQLite file serves one daemon, held by its lock file."""
    return not url.startswith("sqlite")
