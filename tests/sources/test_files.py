"""Files source: one article per file, first line the title, binary files skipped."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import FilesSource
from monitor.errors import SourceError
from monitor.sources.files import poll_files, split_article


def _source(path: Path) -> FilesSource:
    return FilesSource(kind="files", name="local", path=path, every=timedelta(minutes=5))


def test_title_is_first_non_empty_line() -> None:
    assert split_article("\ufeff\n\n  Title here \nbody 1\nbody 2") == ("Title here", "body 1\nbody 2")
    assert split_article("   \n") == ("", "")


def test_poll_reads_txt_md_html_and_skips_the_rest(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Alpha\n\nBody a", encoding="utf-8")
    (tmp_path / "b.md").write_text("Beta\n\nBody b", encoding="utf-8")
    (tmp_path / "c.html").write_text("<html><body><h1>Gamma</h1><p>Body <i>c</i></p></body></html>", encoding="utf-8")
    (tmp_path / "d.bin.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "e.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    result = poll_files(_source(tmp_path))
    assert [(e.title, e.path) for e in result.entries] == [("Alpha", "a.txt"), ("Beta", "b.md"), ("Gamma", "c.html")]
    assert "Body c" in result.entries[2].body
    assert result.entries[0].published is None  # never guessed from text or mtime
    assert any("d.bin.txt" in w and "binary" in w for w in result.warnings)
    assert any("empty.txt" in w for w in result.warnings)


def test_missing_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        poll_files(_source(tmp_path / "nope"))
