"""Schema migrations (monitor/store/migrate.py) on SQLite and PostgreSQL: a database made by the
previous release is upgraded in place without losing anything, a newer one is refused, and
several workers starting at once on an empty database are safe."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text

from monitor.cli import main
from monitor.errors import StoreError
from monitor.models import Classification, Item, Severity
from monitor.store import DeliveryRecord, DigestRecord, Outbox, PollWrite, Store, StoredEntry, migrate
from monitor.store import schema as t
from monitor.store.dialects import make_engine
from monitor.store.migrate import BASELINE, LATER_TABLES, current, head

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PREVIOUS_TABLES = [tb for name, tb in t.metadata.tables.items() if name not in LATER_TABLES]
COLUMNS_ADDED_SINCE = [("deliveries", "recipients")]  # by migration 0003


def _previous_release(url: str) -> None:
    """A database as the release before migrations left it: its tables, schema_version 1 in `meta`,
    no alembic_version; an item, its classification, a digest and a pending delivery."""
    engine = make_engine(url)
    t.metadata.create_all(engine, tables=PREVIOUS_TABLES)
    with engine.begin() as conn:
        conn.execute(insert(t.meta).values(key="schema_version", value="1"))
    store = Store(engine, url)
    item = Item(id="a", source="news", title="Bomb in Baku", text="A bomb exploded in Baku.", first_seen=NOW,
                content_hash="a")
    store.write_poll(PollWrite(state=store.source_state("news"), new=[StoredEntry(item, None, False)]))
    store.save_classifications([(Classification(item_id="a", title="a", source="news", countries=["AZ"],
                                                severity=Severity.high, rules_version="v1"), ["AZ"])])
    assert Outbox(store).claim_digest(DigestRecord(
        id="d1", alert="baku", created_at=NOW, item_count=1, carried=0, subject="s", rendered={"subject": "s"},
        deliveries=[DeliveryRecord("d1", "webhook:1", "webhook", "hook", next_attempt=NOW)], item_ids=["a"]))
    store.close()
    with engine.begin() as conn:  # written with today's code, then made as old as the data
        for table, column in COLUMNS_ADDED_SINCE:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    engine.dispose()


def test_a_database_of_the_previous_release_is_upgraded_in_place(database_url: str) -> None:
    _previous_release(database_url)
    store = Store.open(database_url)
    assert current(store.engine) == head() != BASELINE
    assert set(LATER_TABLES) <= set(inspect(store.engine).get_table_names())
    assert [i.id for i in store.list_items()] == ["a"]
    assert store.unclassified("v1") == [] and store.classification_mark() == 1
    outbox = Outbox(store)
    assert outbox.claimed("baku", ["a"]) and [d.digest_id for d in outbox.due_deliveries(None)] == ["d1"]
    assert "recipients" in {c["name"] for c in inspect(store.engine).get_columns("deliveries")}
    store.close()
    Store.open(database_url).close()  # a second start finds nothing to do


def test_a_database_newer_than_the_program_is_refused(database_url: str) -> None:
    Store.open(database_url).close()
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match=rf"newer than this program's \(revision {head()}\)"):
        Store.open(database_url)


def test_scripts_that_cannot_be_read_are_reported_as_such_not_as_a_newer_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    Store.open(url).close()  # at the head of the real scripts
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts)
    (scripts / "versions" / "9000_dangling.py").write_text('revision = "9000"\ndown_revision = "nope"\n')
    monkeypatch.setattr(migrate, "MIGRATIONS", scripts)
    with pytest.raises(StoreError) as caught:
        Store.open(url)
    assert "newer" not in str(caught.value)
    assert caught.value.message.startswith(f"the migration scripts in {scripts / 'versions'} cannot be read: ")
    assert "nope" in caught.value.message  # Alembic's own words: the revision it could not find


def test_workers_starting_at_once_on_an_empty_database_migrate_once(pg_url: str) -> None:
    def start(_: int) -> str | None:
        store = Store.open(pg_url)
        try:
            return current(store.engine)
        finally:
            store.close()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(start, range(4))) == [head()] * 4


def test_db_current_and_upgrade_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"database: sqlite:///{tmp_path}/m.db\n"
                      f"sources:\n  - {{name: a, kind: files, path: {tmp_path}}}\n")
    _previous_release(f"sqlite:///{tmp_path}/m.db")
    assert main(["db", "current", "--config", str(config)]) == 0
    assert "none (empty, or made before migrations)" in capsys.readouterr().out
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == f"schema at revision {head()} (was unversioned: empty or older)"
    assert main(["db", "current", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == f"{head()} (up to date)"


def test_an_unreachable_database_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("database: postgresql://monitor:${DB_PASSWORD}@127.0.0.1:1/monitor\n"
                      f"sources:\n  - {{name: a, kind: files, path: {tmp_path}}}\n")
    monkeypatch.setenv("DB_PASSWORD", "s3cret")
    assert main(["status", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    first, hint = err.strip().splitlines()
    assert first.startswith("advisory-monitor status: error: cannot open database "
                            "postgresql://monitor:***@127.0.0.1:1/monitor: connection failed")
    assert "s3cret" not in err and hint.startswith("  hint:")


def test_incidents_start_empty_after_the_upgrade_and_group_new_items(database_url: str) -> None:
    from monitor.config import IncidentsConfig
    from monitor.incidents import Grouper
    from monitor.models import RegionHit, ThreatHit
    from monitor.store import Incidents

    _previous_release(database_url)
    store = Store.open(database_url)
    incidents = Incidents(store)
    assert incidents.listing() == [] and incidents.incident_of(["a"]) == {}
    item = store.list_items()[0]
    cls = Classification(item_id="a", title=item.title, source="news", countries=["AZ"], severity=Severity.high,
                         regions=[RegionHit(id="baku-az", name="Baku", kind="city", country="AZ", role="primary")],
                         threats=[ThreatHit(type="terrorism")], rules_version="v1")
    assert Grouper(incidents, IncidentsConfig()).group([(item, cls)]).created == 1
    assert list(incidents.incident_of(["a"])) == ["a"]
    store.close()
