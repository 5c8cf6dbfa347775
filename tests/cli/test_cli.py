"""The command line: help for every command, exit codes, JSON lines, the instance lock."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import build_parser, main
from tests.conftest import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--config" in out and len(out.splitlines()) > 3


def _config(tmp_path: Path, extra: str = "") -> Path:
    articles = tmp_path / "articles"
    articles.mkdir(exist_ok=True)
    for seed in (ROOT / "seeds").glob("*.txt"):
        shutil.copy(seed, articles)
    path = tmp_path / "config.yaml"
    path.write_text(f"database: sqlite:///{tmp_path}/m.db\nsources:\n  - {{name: seeds, kind: files, path: articles}}\n"
                    + extra, encoding="utf-8")
    return path


def test_ingest_then_items_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert main(["ingest", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["items", "--config", str(config), "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert {"id", "source", "title", "url", "published", "text"} <= set(row)
        assert row["source"] == "seeds"
    assert main(["items", "--config", str(config), "--source", "nope", "--format", "json"]) == 0
    assert capsys.readouterr().out == ""


def test_failed_source_does_not_fail_ingest_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "  - {name: gone, kind: files, path: nowhere}\n")
    assert main(["ingest", "--config", str(config)]) == 0
    assert "gone: FAILED" in capsys.readouterr().err
    assert main(["ingest", "--config", str(config), "--strict"]) == 1


def test_bad_config_exits_2_with_located_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("sources:\n  - {name: a, kind: files, path: x, every: often}\n", encoding="utf-8")
    assert main(["ingest", "--config", str(path)]) == 2
    assert f"{path}:2:" in capsys.readouterr().err


def test_second_instance_is_refused_naming_the_first(tmp_path: Path) -> None:
    config = _config(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; from monitor.service.lock import InstanceLock;"
         " from pathlib import Path; l=InstanceLock(Path(sys.argv[1])); l.acquire();"
         " print('locked', flush=True); time.sleep(30)",
         f"{tmp_path}/m.db.lock"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = subprocess.run([sys.executable, "-m", "monitor", "ingest", "--config", str(config)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1
        assert f"pid {holder.pid}" in result.stderr
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    # The OS released the lock with the killed process.
    result = subprocess.run([sys.executable, "-m", "monitor", "ingest", "--config", str(config)],
                            capture_output=True, text=True, timeout=60, env={**os.environ})
    assert result.returncode == 0, result.stderr


def test_status_columns_stay_aligned_with_a_long_disabled_source(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"database: sqlite:///{tmp_path}/m.db\nsources:\n"
                      f"  - {{name: seeds, kind: files, path: {ROOT / 'seeds'}}}\n"
                      "  - {name: a-rather-long-feed-name, kind: feed, url: 'http://127.0.0.1:9/x', enabled: false}\n",
                      encoding="utf-8")
    assert main(["status", "--config", str(config)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    header = lines[0]
    column = header.index("LAST OK")
    for line in lines[1:3]:
        assert line[column - 1] == " " and line[column] in "-0123456789", line


def test_read_only_commands_start_without_delivery_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADVISORY_TEST_HOOK", raising=False)
    config = _config(tmp_path, "alerts:\n  - name: w\n    match: {regions: [AZ]}\n"
                               "    deliver: [{kind: webhook, url: '${ADVISORY_TEST_HOOK}'}]\n")
    for command in (["items"], ["status"], ["digests"], ["ingest"]):
        assert main([*command, "--config", str(config)]) == 0, command
    capsys.readouterr()
    assert main(["once", "--config", str(config)]) == 2
    assert "environment variable ADVISORY_TEST_HOOK is not set" in capsys.readouterr().err


def test_once_sends_whatever_the_schedule_and_once_due_honours_it(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "alerts:\n  - name: hourly\n    match: {regions: [AZ]}\n    max_age: null\n"
                               "    schedule: {every: 1h}\n    deliver: [{kind: file, path: out}]\n")

    def digests() -> int:
        capsys.readouterr()
        assert main(["digests", "--config", str(config), "--format", "json"]) == 0
        return len(capsys.readouterr().out.splitlines())

    assert main(["once", "--due", "--config", str(config)]) == 0
    assert digests() == 1  # the first digest of an hourly alert is due at once
    (tmp_path / "articles" / "new.txt").write_text(
        "Protest in Baku\n\nThousands marched in Baku, Azerbaijan, on Sunday; police detained dozens.\n",
        encoding="utf-8")
    assert main(["once", "--due", "--config", str(config)]) == 0
    assert digests() == 1  # the next is due an hour after the first
    assert main(["once", "--config", str(config)]) == 0
    assert digests() == 2


def test_status_says_a_gone_feed_and_a_disabled_source_are_never_polled(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], http_server: LoopbackServer) -> None:
    url = http_server.serve("/gone.xml", b"", status=410)
    config = _config(tmp_path, f"  - {{name: gone, kind: feed, url: '{url}'}}\n"
                               "  - {name: paused, kind: files, path: articles, enabled: false}\n")
    assert main(["ingest", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["status", "--config", str(config), "--format", "json"]) == 0
    rows = {row["name"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["gone"]["gone"] is True and rows["gone"]["next_poll"] is None
    assert rows["paused"]["next_poll"] is None and rows["seeds"]["next_poll"] is not None
    assert main(["status", "--config", str(config)]) == 0
    assert "gone (410)" in next(line for line in capsys.readouterr().out.splitlines() if line.startswith("gone "))
