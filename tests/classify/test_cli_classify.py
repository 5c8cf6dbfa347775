from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main

RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>t</title>
<item><title>Floods in Kenya</title>
<description>&lt;p&gt;Floods hit &lt;b&gt;Nairobi&lt;/b&gt;.&lt;/p&gt;</description></item>
<item><title>Quiet day in Oslo</title><description>Nothing happened in Norway.</description></item>
</channel></rss>"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    code = main(["classify", "--format", "json", *args])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


def test_json_lines_in_argument_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "a.txt"
    a.write_text("\nKidnapping in Haiti\nGangs kidnapped missionaries near Port-au-Prince.\n", encoding="utf-8")
    b = tmp_path / "b.html"
    b.write_text("<html><body><h1>Quake in Japan</h1><p>An earthquake hit Tokyo.</p></body></html>")
    feed = tmp_path / "feed.xml"
    feed.write_text(RSS, encoding="utf-8")
    code, rows = run(capsys, str(a), str(b), str(feed))
    assert code == 0
    assert [r["title"] for r in rows] == ["Kidnapping in Haiti", "Quake in Japan", "Floods in Kenya",
                                          "Quiet day in Oslo"]
    assert rows[0]["countries"] == ["HT"] and rows[0]["source"] == str(a)
    assert "kidnapping" in {t["type"] for t in rows[0]["threats"]}
    assert rows[1]["countries"] == ["JP"]
    assert rows[2]["countries"] == ["KE"]
    assert rows[3]["severity"] == "none"
    region = rows[0]["regions"][0]
    assert set(region) >= {"id", "name", "kind", "country", "role", "score", "evidence"}
    assert set(rows[0]) >= {"title", "source", "countries", "regions", "threats", "severity"}


def test_stdin_and_text_format(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Riots in Paris\n\nRiots broke out in Paris.")))
    assert main(["classify", "--format", "text", "-"]) == 0
    out = capsys.readouterr().out
    assert "countries: FR" in out
    assert "[Paris]" in out and "[Riots]" in out  # evidence marked (no colour when not a tty)


def test_many_files_in_workers_keep_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = ["Kenya", "Peru", "Japan", "Chile"] * 60
    paths = []
    for i, name in enumerate(names):
        p = tmp_path / f"{i:03d}.txt"
        p.write_text(f"Floods in {name}\n\nFloods hit {name}.", encoding="utf-8")
        paths.append(str(p))
    code, rows = run(capsys, "--jobs", "2", *paths)
    assert code == 0
    assert [r["title"] for r in rows] == [f"Floods in {n}" for n in names]


def test_rules_check_and_test_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["rules", "check"]) == 0
    assert "rules OK" in capsys.readouterr().out
    (tmp_path / "threats.yaml").write_text("threats:\n  crime:\n    regexes: ['(bad']\n", encoding="utf-8")
    assert main(["rules", "check", "--rules", str(tmp_path)]) == 2
    assert "threats.yaml:3" in capsys.readouterr().err
    assert main(["rules", "test", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_unreadable_path_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["classify", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_unreadable_path_in_a_workers_share_is_a_usage_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    paths = []
    for i in range(240):
        p = tmp_path / f"{i:03d}.txt"
        p.write_text(f"Floods in Kenya {i}\n\nFloods hit Kenya.", encoding="utf-8")
        paths.append(str(p))
    paths[-1] = str(tmp_path / "missing.txt")  # in the second share: a forked child reads it
    assert main(["classify", "--jobs", "2", *paths]) == 2
    captured = capsys.readouterr()
    assert "cannot read" in captured.err and "missing.txt" in captured.err


def test_a_worker_that_dies_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    from monitor.classify import batch

    parent, real_lines = os.getpid(), batch._lines

    def lines_or_die(*args: object, **kwargs: object) -> str:
        if os.getpid() != parent:
            os._exit(9)  # as if the kernel had killed the forked worker
        time.sleep(0.05)  # let the worker take a chunk first
        return real_lines(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "_lines", lines_or_die)
    paths = []
    for i in range(240):
        p = tmp_path / f"{i:03d}.txt"
        p.write_text(f"Floods in Kenya {i}\n\nFloods hit Kenya.", encoding="utf-8")
        paths.append(str(p))
    assert main(["classify", "--jobs", "2", *paths]) == 1
    assert "worker process ended before finishing" in capsys.readouterr().err


def test_a_pattern_re2_cannot_run_is_refused_naming_file_line_and_pattern(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "threats.yaml").write_text(
        "threats:\n"
        "  crime:\n"
        "    regexes:\n"
        "      - 'pick ?pocket\\w*'\n"
        "      - '(?<!anti-)theft'\n", encoding="utf-8")  # line 5: lookbehind
    (tmp_path / "boilerplate.yaml").write_text(
        "drop_lines:\n"
        "  regexes: ['^(\\w+) \\1$']\n", encoding="utf-8")  # line 2: backreference
    assert main(["rules", "check", "--rules", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert (f"{tmp_path}/threats.yaml:5: threats.crime.regexes[1]: bad regex '(?<!anti-)theft': "
            f"invalid perl operator: (?<!; expected RE2 syntax") in err
    assert f"{tmp_path}/boilerplate.yaml:2: drop_lines.regexes[0]: bad regex '^(\\w+) \\1$': invalid escape" in err
    assert "no backreferences" in err and "no lookaround" in err and "2 problems found" in err
    article = tmp_path / "a.txt"
    article.write_text("Theft in Paris\n\nA theft.", encoding="utf-8")
    assert main(["classify", "--rules", str(tmp_path), str(article)]) == 2


def test_a_catastrophic_user_pattern_classifies_at_once(tmp_path: Path) -> None:
    """`(a+)+$` backtracked for ever in Python's re on forty `a` and a `!` (holding the GIL: the
    daemon's health endpoint and signals froze with it). Run as a command with a time limit, so that
    a regression fails here instead of hanging the suite."""
    rules = tmp_path / "myrules"
    rules.mkdir()
    (rules / "threats.yaml").write_text("threats:\n  crime:\n    regexes: ['(a+)+$']\n", encoding="utf-8")
    stuck = tmp_path / "redos.txt"
    stuck.write_text("Quiet day in Oslo\n\n" + "a" * 40 + "!\n", encoding="utf-8")
    hit = tmp_path / "hit.txt"
    hit.write_text("Quiet day in Oslo\n\nIt ends in " + "a" * 40 + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "monitor", "classify", "--format", "json", "--rules", str(rules),
                           str(stuck), str(hit)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert [t["type"] for t in first["threats"]] == []
    assert [t["type"] for t in second["threats"]] == ["crime"]
    assert second["threats"][0]["evidence"][0]["text"] == "a" * 40
