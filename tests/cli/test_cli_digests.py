"""The outbox commands: `alerts test`, `digest preview`, `digests [list|show|retry]`, on the seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from tests.ports import free_port
from tests.seeds_config import seeds_config
from tests.webhooks import serve_hooks


@pytest.fixture
def config(tmp_path: Path) -> str:
    # The webhook's port is free: nothing answers there, so its deliveries fail and wait.
    return str(seeds_config(tmp_path, f"""      - {{kind: file, path: {tmp_path}/out}}
      - {{kind: webhook, url: "http://127.0.0.1:{free_port()}/hook/t0ken", timeout: 2s}}""",
                            regions="Azerbaijan, AM"))


def test_preview_backtest_history_and_retry(config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "--config", config]) == 0
    capsys.readouterr()
    # Nothing classified yet: nothing to preview.
    assert main(["digest", "preview", "caucasus", "--config", config]) == 0
    assert "nothing to send now" in capsys.readouterr().err

    assert main(["once", "--config", config]) == 0
    err = capsys.readouterr().err
    assert "file ok" in err and "webhook FAILED (retrying in " in err
    assert "t0ken" not in err  # a webhook path may hold a secret: never shown

    assert main(["alerts", "test", "caucasus", "--format", "json", "--config", config]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and all(r["digest"] and "AZ" in r["matched_regions"] for r in rows)
    assert all(r["why"].startswith("Matched rule 'caucasus': region ") for r in rows)
    digest_id = rows[0]["digest"]

    assert main(["digests", "--config", config]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{digest_id}  ") and "file sent" in line and "webhook waiting (attempt 2 at " in line

    assert main(["digests", "show", digest_id[:15], "--format", "json", "--config", config]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == digest_id and len(shown["entries"]) == 2
    assert {d["kind"]: d["status"] for d in shown["deliveries"]} == {"file": "sent", "webhook": "pending"}

    assert main(["digests", "retry", digest_id, "--config", config]) == 0
    out, err = capsys.readouterr()
    assert f"digest {digest_id}: webhook 127.0.0.1:" in err and ": retried: FAILED (retrying in " in err
    assert f"digest {digest_id}: file {tmp_path}/out: sent already (" in out
    assert main(["digests", "retry", digest_id, "--strict", "--config", config]) == 1
    capsys.readouterr()

    # Everything is claimed: the preview is empty; a new article shows up in it without being sent.
    assert main(["digest", "preview", "caucasus", "--config", config]) == 0
    assert "no new matching items" in capsys.readouterr().err
    assert main(["digests", "show", "nope", "--config", config]) == 2
    assert main(["alerts", "test", "caucasus-x", "--config", config]) == 2
    assert "did you mean 'caucasus'" in capsys.readouterr().err


def test_preview_renders_without_claiming(config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["ingest", "--config", config]) == 0
    from monitor.config import load_config
    from monitor.service.pipeline import Pipeline
    from monitor.store import Store

    loaded = load_config(config)
    store = Store.open(loaded.database)
    pipeline = Pipeline(loaded, store)
    try:
        pipeline.classify_pending()
    finally:
        pipeline.close()
        store.close()
    capsys.readouterr()
    assert main(["digest", "preview", "caucasus", "--config", config]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Subject: [caucasus] 2 new") and "US embassy in Azerbaijan" in text
    assert main(["digest", "preview", "caucasus", "--open", "--config", config]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == tmp_path
    assert path.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert main(["digest", "preview", "caucasus", "--part", "json", "--config", config]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 2
    # Still nothing claimed: `once` sends both.
    assert main(["once", "--config", config]) == 0
    assert "with 2 items -> file ok" in capsys.readouterr().err  # on stderr: the webhook failed


def test_retry_after_the_webhook_url_is_fixed_says_where_it_went(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    with serve_hooks() as hooks:
        config = seeds_config(tmp_path, f'      - {{kind: webhook, url: "{hooks.url("/wrong/t0ken")}"}}')
        assert main(["once", "--config", str(config)]) == 0
        assert "webhook FAILED (gave up)" in capsys.readouterr().err
        digest_id = hooks.received[0][1]
        config.write_text(config.read_text(encoding="utf-8").replace("/wrong/", "/right/"), encoding="utf-8")
        assert main(["digests", "retry", digest_id, "--config", str(config)]) == 0
        out, err = capsys.readouterr()
        assert out == (f"digest {digest_id}: webhook 127.0.0.1:{hooks.port}: its target changed in the config "
                       f"since; retried to the alert's current webhook 127.0.0.1:{hooks.port}: delivered\n")
        assert hooks.received[1:] == [("/right/t0ken", digest_id)] and "t0ken" not in out + err
        assert main(["digests", "retry", digest_id, "--config", str(config)]) == 0
        assert capsys.readouterr().out == f"digest {digest_id}: every delivery was sent already\n"

        config.write_text(config.read_text(encoding="utf-8").replace("name: caucasus", "name: elsewhere"),
                          encoding="utf-8")
        assert main(["digests", "retry", digest_id, "--config", str(config)]) == 2
        assert f"digest {digest_id} is of alert 'caucasus', which the config no longer has: nothing was sent" in \
            capsys.readouterr().err
        assert len(hooks.received) == 2
