"""Schema migrations (Alembic), run from code: the scripts ship in ``monitor/store/migrations/versions``
and no ``alembic.ini`` is needed on disk (``migrations/env.py`` runs them on the connection given here).

Upgrades run under a lock so that several workers starting at once on an empty or old database
are safe: one migrates, the others wait and then find nothing to do. PostgreSQL: a transaction-level
advisory lock, the DDL in the same transaction. SQLite: an OS lock (flock) in a file beside the
database (SQLite's driver runs DDL outside transactions, so its own locking is not enough).

A database made before migrations existed (tables, no ``alembic_version``) gets the columns its
release added with guarded ALTERs, is stamped as the baseline, then upgraded like any other.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from monitor.errors import StoreError
from monitor.store import schema as t
from monitor.store.dialects import sqlite_path
from monitor.store.translate import translated

log = logging.getLogger(__name__)

BASELINE = "0001"
# Tables that migrations after the baseline create (0002 workers and leases, 0005 incidents).
LATER_TABLES = ("workers", "leases", "incidents", "incident_reports", "incident_keys", "incident_events",
                "incident_sends")
# Any fixed number: the key of the advisory lock every worker takes to migrate.
PG_MIGRATION_LOCK = 0x61647631  # "adv1"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS), version_locations=[str(MIGRATIONS / "versions")])


def head() -> str:
    found = scripts().get_current_head()
    assert found is not None
    return found


@translated
def current(engine: Engine) -> str | None:
    """The database's revision (None: empty, or made before migrations)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@translated
def upgrade(engine: Engine, url: str) -> tuple[str | None, str]:
    """Bring the database to the code's head under the migration lock; (revision before, after)."""
    return upgrade_untranslated(engine, url)


def upgrade_untranslated(engine: Engine, url: str) -> tuple[str | None, str]:
    """``upgrade`` for Store.open, which words its own StoreError ("cannot open database ...")."""
    with _file_lock(sqlite_path(url)), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        before = _upgrade(conn)
        _ensure_rows(conn)
    return before, head()


def _upgrade(conn: Connection) -> str | None:
    script = scripts()
    context = MigrationContext.configure(conn)
    before = found = context.get_current_revision()
    if before is not None and before not in _known(script):
        raise StoreError(f"the database's schema (revision {before}) is newer than this program's "
                         f"(revision {script.get_current_head()})",
                         hint="upgrade advisory-monitor on this host; the database was migrated by a newer release")
    if before is None and inspect(conn).has_table("items"):
        _check_legacy_version(conn)
        log.info("stamping a database made before migrations as revision %s", BASELINE)
        _add_columns(conn)
        context.stamp(script, BASELINE)
        before = BASELINE
    target = script.get_current_head()
    if target is None:
        raise StoreError(f"no migration scripts found in {MIGRATIONS / 'versions'}",
                         hint="the installation is incomplete; reinstall advisory-monitor")
    if before == target:
        return found
    # Alembic's documented way to run its upgrade on a connection of the caller's (inside the
    # migration lock's transaction): env.py takes it from the config's attributes.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, target)
    log.info("database schema upgraded from %s to %s", before or "nothing", target)
    return found


def _known(script: ScriptDirectory) -> set[str]:
    """Every revision the scripts define. Scripts that cannot be read are their own error (a
    damaged installation), not a sign that the database is newer."""
    try:
        return {s.revision for s in script.walk_revisions()}
    except Exception as exc:  # loading the scripts raises what they contain (KeyError, SyntaxError...)
        raise StoreError(f"the migration scripts in {MIGRATIONS / 'versions'} cannot be read: "
                         f"{type(exc).__name__}: {exc}",
                         hint="the installation is damaged; reinstall advisory-monitor") from exc


def _check_legacy_version(conn: Connection) -> None:
    version = conn.execute(select(t.meta.c.value).where(t.meta.c.key == "schema_version")).scalar()
    if version is not None and int(version) > t.SCHEMA_VERSION:
        raise StoreError(f"database schema version {version} is newer than this program's ({t.SCHEMA_VERSION})",
                         hint="upgrade advisory-monitor")


def _ensure_rows(conn: Connection) -> None:
    """Rows every writer updates in place must exist first: two workers inserting the classification
    counter at once would clash, and its row lock is what orders classifications across workers."""
    for key, value in (("schema_version", str(t.SCHEMA_VERSION)), ("classification_seq", "0")):
        if conn.execute(select(t.meta.c.key).where(t.meta.c.key == key)).first() is None:
            with contextlib.suppress(IntegrityError), conn.begin_nested():
                conn.execute(insert(t.meta).values(key=key, value=value))


# Columns the releases before migrations added with guarded ALTERs: (table, column, DDL type).
_ADDED = [(t.items, "classified_version", "VARCHAR(64)"), (t.classifications, "seq", "INTEGER")]


def _add_columns(conn: Connection) -> None:
    for table, column, ddl in _ADDED:
        present = {c["name"] for c in inspect(conn).get_columns(table.name)}
        if column in present:
            continue
        conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column} {ddl}"))
        if column == "classified_version":
            # Items classified before the column existed are not classified again.
            conn.execute(update(t.items).values(classified_version=select(t.classifications.c.rules_version)
                                                .where(t.classifications.c.item_id == t.items.c.id)
                                                .scalar_subquery()))
        # Rows of older databases have no classification order: a dispatcher's first full look
        # at start covers them, and they get one when they are classified again.
    for index in (*t.items.indexes, *t.classifications.indexes):
        index.create(conn, checkfirst=True)
    # Tables every release before migrations had may still be missing from very old files.
    baseline_tables = [tb for name, tb in t.metadata.tables.items() if name not in LATER_TABLES]
    t.metadata.create_all(conn, tables=baseline_tables)


@contextlib.contextmanager
def _file_lock(database_file: str | None) -> Iterator[None]:
    if database_file is None:
        yield
        return
    fd = os.open(database_file + ".migrate.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocking: a second worker waits for the first's migration
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
