"""`check`, `once` and `digest preview` with one alert whose template raises: a config error naming
the alert, the file and the line, never a traceback; `once` still sends the other alerts' digests."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main

ARTICLE = ("Gunmen attack bus near Yerevan, Armenia\n\nGunmen attacked a tourist bus near Yerevan, Armenia on "
           "Tuesday, killing two people. Police said the attackers fled toward the border.\n")


def two_alerts(tmp_path: Path, template: str) -> str:
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "armenia.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "tmpl").mkdir()
    (tmp_path / "tmpl" / "broken.txt").write_text(template, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"""database: sqlite:///{tmp_path}/monitor.db
sources: [{{name: a, kind: files, path: articles/}}]
alerts:
  - name: brokenalert
    match: {{regions: [AM]}}
    max_age: null
    template: tmpl/broken.txt
    deliver: [{{kind: file, path: out/a}}]
  - name: goodalert
    match: {{regions: [AM]}}
    max_age: null
    deliver: [{{kind: file, path: out/b}}]
""", encoding="utf-8")
    return str(config)


def test_check_is_a_config_error_naming_alert_file_and_line(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = two_alerts(tmp_path, "{{ subject }}\n{{ count + ' items' }}\n")
    assert main(["check", "--config", config]) == 2
    err = capsys.readouterr().err
    assert "advisory-monitor check: error: " in err and "Traceback" not in err
    assert "tmpl/broken.txt:2: alert 'brokenalert': TypeError: unsupported operand type(s) for +" in err
    (tmp_path / "tmpl" / "broken.txt").write_text("{{ count }} items\n", encoding="utf-8")
    assert main(["check", "--config", config]) == 0
    assert capsys.readouterr().out == "config OK: 1 source, 2 alerts\n"


def test_once_sends_the_good_alert_and_names_the_broken_one(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = two_alerts(tmp_path, "ok\n{{ 1/0 }}\n")
    monkeypatch.chdir(tmp_path)  # paths in messages are shown relative to the working folder
    assert main(["once", "--config", config]) == 2  # a broken template is a config error, after the rest went
    out, err = capsys.readouterr()
    assert "goodalert: digest " in out and "-> file ok" in out
    assert [p.name for p in (tmp_path / "out" / "b").iterdir()] and not (tmp_path / "out" / "a").exists()
    assert ("brokenalert: digest not built, template tmpl/broken.txt:2: ZeroDivisionError: division by zero; "
            "1 item waits") in err
    assert "Traceback" not in err

    assert main(["digest", "preview", "brokenalert", "--config", config]) == 2
    err = capsys.readouterr().err
    assert err.startswith("advisory-monitor digest: error: tmpl/broken.txt:2: alert 'brokenalert': "
                          "ZeroDivisionError: division by zero")
    assert "Traceback" not in err

    # Fixed: the next `once` sends the item that waited, and exits 0.
    (tmp_path / "tmpl" / "broken.txt").write_text("{{ count }} for {{ alert }}\n", encoding="utf-8")
    assert main(["once", "--config", config]) == 0
    assert "brokenalert: digest " in capsys.readouterr().out
    [folder] = (tmp_path / "out" / "a").iterdir()
    assert "1 for brokenalert" in (folder / "message.eml").read_text(encoding="utf-8")
