"""File delivery: one folder per digest, written whole or not at all, idempotent on retry."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
from pathlib import Path

import pytest
from peers import make_rendered

from monitor.config import FileTarget, SmtpConfig
from monitor.deliver import DeliveryOutcome, DeliverySession, deliver
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest


def write(path: Path, rendered: RenderedDigest, smtp: SmtpConfig | None = None) -> DeliveryOutcome:
    async def scenario() -> DeliveryOutcome:
        async with DeliverySession(smtp) as session:
            return await deliver(session, FileTarget(kind="file", path=path), rendered)

    return asyncio.run(scenario())


def test_writes_eml_html_and_json(tmp_path: Path, rendered: RenderedDigest) -> None:
    outcome = write(tmp_path / "out", rendered, SmtpConfig(sender="Desk <desk@example.org>"))
    folder = tmp_path / "out" / rendered.digest_id
    assert str(folder) in outcome.summary
    assert sorted(p.name for p in folder.iterdir()) == ["digest.html", "digest.json", "message.eml"]
    assert json.loads((folder / "digest.json").read_text(encoding="utf-8")) == rendered.payload
    assert (folder / "digest.html").read_text(encoding="utf-8") == rendered.html
    msg = email.message_from_bytes((folder / "message.eml").read_bytes(), policy=email.policy.default)
    assert msg["Message-ID"] == f"<{rendered.digest_id}@advisory-monitor>" and msg["From"] == "Desk <desk@example.org>"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [rendered.digest_id]  # no temp folder left


def test_rewriting_the_same_digest_is_idempotent(tmp_path: Path, rendered: RenderedDigest) -> None:
    write(tmp_path, rendered)
    folder = tmp_path / rendered.digest_id
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    write(tmp_path, make_rendered())
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == [rendered.digest_id]


def test_changed_content_replaces_the_folder_whole(tmp_path: Path, rendered: RenderedDigest) -> None:
    write(tmp_path, rendered)
    (tmp_path / rendered.digest_id / "stray.txt").write_text("left by someone")
    changed = make_rendered(n=3)
    write(tmp_path, changed)
    folder = tmp_path / rendered.digest_id
    assert sorted(p.name for p in folder.iterdir()) == ["digest.html", "digest.json", "message.eml"]
    assert len(json.loads((folder / "digest.json").read_text())["items"]) == 3
    assert [p.name for p in tmp_path.iterdir()] == [rendered.digest_id]


def test_a_crash_midway_leaves_no_half_digest(tmp_path: Path, rendered: RenderedDigest,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd: int) -> None:  # the disk fills up after the first file
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(DeliveryError) as info:
        write(tmp_path, rendered)
    assert info.value.retryable and "No space left" in str(info.value)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(os, "fsync", real_fsync)
    write(tmp_path, rendered)
    assert len(list((tmp_path / rendered.digest_id).iterdir())) == 3


def test_leftovers_of_a_killed_attempt_are_cleared(tmp_path: Path, rendered: RenderedDigest) -> None:
    stale = tmp_path / f".{rendered.digest_id}.abc123.tmp"
    stale.mkdir()
    (stale / "message.eml").write_text("half")
    write(tmp_path, rendered)
    assert [p.name for p in tmp_path.iterdir()] == [rendered.digest_id]


@pytest.mark.parametrize("bad", ["../escape", ".hidden", "a/b", ""])
def test_digest_ids_that_are_not_folder_names_are_refused(tmp_path: Path, bad: str) -> None:
    rendered = make_rendered().model_copy(update={"digest_id": bad})
    with pytest.raises(DeliveryError) as info:
        write(tmp_path / "out", rendered)
    assert not info.value.retryable
    assert not (tmp_path / "escape").exists()
