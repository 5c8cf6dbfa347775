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


def test_links_out_of_the_folder_are_not_followed_and_say_so(tmp_path: Path) -> None:
    folder, outside = tmp_path / "articles", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("Embassy note\n\nCANARY protests in Yerevan", encoding="utf-8")
    (outside / "more").mkdir()
    (outside / "more" / "deep.txt").write_text("Deep\n\nCANARY", encoding="utf-8")
    (folder / "real.txt").write_text("Real\n\nBody", encoding="utf-8")
    (folder / "inside-link.txt").symlink_to(folder / "real.txt")
    (folder / "passwd.txt").symlink_to(outside / "secret.txt")
    (folder / "linked-dir").symlink_to(outside / "more")
    (folder / "proc.txt").symlink_to("/proc/self/status")
    result = poll_files(_source(folder))
    assert sorted(e.path for e in result.entries) == ["inside-link.txt", "real.txt"]
    assert all("CANARY" not in e.body for e in result.entries)
    refused = [w for w in result.warnings if "outside the source's folder" in w]
    # A linked folder is either not walked at all or its files are refused; never read.
    assert {"passwd.txt", "proc.txt"} <= {w.split(":")[0] for w in refused}


def test_special_files_are_never_opened(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe.txt")  # reading it would block the poll for ever
    (tmp_path / "ok.txt").write_text("Ok\n\nBody", encoding="utf-8")
    result = poll_files(_source(tmp_path))
    assert [e.path for e in result.entries] == ["ok.txt"]
    assert any(w.startswith("pipe.txt: skipped: not a regular file") for w in result.warnings)


def test_a_file_over_the_cap_is_read_up_to_it_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.sources import files

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1024 * 1024)
    (tmp_path / "big.txt").write_text("Big\n\n" + "word " * 300_000, encoding="utf-8")
    result = poll_files(_source(tmp_path))
    assert len(result.entries[0].body) < 1024 * 1024
    assert any(w.startswith("big.txt: longer than 1 MB") for w in result.warnings)


@pytest.mark.parametrize(("text", "codec"), [
    ("Café fermé à Genève\n\nLa manifestation a dégénéré près de l'hôtel de ville, à côté du théâtre.", "cp1252"),
    ("Протесты в Бишкеке\n\nПолиция задержала десятки участников акции в центре города.", "cp1251"),
])
def test_a_file_in_another_charset_is_decoded_with_a_warning(tmp_path: Path, text: str, codec: str) -> None:
    (tmp_path / "a.txt").write_bytes(text.encode(codec))
    result = poll_files(_source(tmp_path))
    entry = result.entries[0]
    assert (entry.title, entry.body.strip()) == tuple(part.strip() for part in text.split("\n\n", 1))
    assert result.warnings == [f"a.txt: not UTF-8: decoded as {codec}"]
