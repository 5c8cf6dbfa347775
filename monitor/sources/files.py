"""Files source: a folder of articles, one per file (.txt, .md, .html).

The first non-empty line is the title and the rest the body. A file's identity is its path in
the folder, so an edited file is a new version of the same item. Files never get a date guessed
from their text or mtime: they count from when they were first stored.
"""

from __future__ import annotations

import logging
from pathlib import Path

from monitor.config import FilesSource
from monitor.errors import SourceError
from monitor.models import PollResult, RawEntry
from monitor.sources.extract import html_to_text

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024


def split_article(text: str) -> tuple[str, str]:
    """Title (first non-empty line) and body (the rest) of a plain-text article."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip():
            return line.strip(), "\n".join(lines[i + 1:])
    return "", ""


def read_article(path: Path) -> tuple[str, str]:
    """Title and plain-text body of one article file; raises ValueError when it is not text."""
    data = path.read_bytes()[:MAX_FILE_BYTES]
    if b"\0" in data[:8192]:
        raise ValueError("binary file, not an article")
    text = data.decode("utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        text = html_to_text(text)
    return split_article(text)


def poll_files(source: FilesSource) -> PollResult:
    """Every article in the folder; unreadable files are warnings, a missing folder an error."""
    folder = Path(source.path)
    if not folder.is_dir():
        raise SourceError(source.name, f"folder {folder} does not exist or is not a folder",
                          hint="check the source's `path:` (relative paths resolve against the config file)")
    result = PollResult([])
    wanted = {ext.lower() for ext in source.extensions}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in wanted or path.name.startswith("."):
            continue
        relative = path.relative_to(folder).as_posix()
        try:
            title, body = read_article(path)
        except (OSError, ValueError) as exc:
            result.warnings.append(f"{relative}: skipped: {exc}")
            continue
        if not title:
            result.warnings.append(f"{relative}: skipped: empty file")
            continue
        result.entries.append(RawEntry(source=source.name, guid=None, link=None, title=title, body=body,
                                       body_is_html=False, path=relative))
    return result
