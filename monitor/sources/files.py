"""Files source: a folder of articles, one per file (.txt, .md, .html).

The first non-empty line is the title and the rest the body. A file's identity is its path in
the folder, so an edited file is a new version of the same item. Files never get a date guessed
from their text or mtime: they count from when they were first stored.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from monitor.config import FilesSource
from monitor.errors import SourceError
from monitor.models import PollResult, RawEntry
from monitor.sources.charset import repair_charset
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


def read_article(path: Path, warnings: list[str] | None = None) -> tuple[str, str]:
    """Title and plain-text body of one article file; raises ValueError when it is not text.

    Reads at most MAX_FILE_BYTES (a longer file is cut there, with a warning) from a regular file
    only: a FIFO would block the poll and a device never ends.
    """
    # O_NONBLOCK: opening a FIFO that slipped in between the check and the open must not hang.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError("not a regular file")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        data = data[:MAX_FILE_BYTES]
        if warnings is not None:
            warnings.append(f"longer than {MAX_FILE_BYTES // (1024 * 1024)} MB: only the first "
                            f"{MAX_FILE_BYTES // (1024 * 1024)} MB were read")
    if b"\0" in data[:8192]:
        raise ValueError("binary file, not an article")
    repaired = repair_charset(data, None)
    if repaired.warning and warnings is not None:
        # Decoded as UTF-8 with replacement, "Café" in windows-1252 became "Caf\ufffd" unannounced.
        chosen = repaired.warning.rsplit(" ", 1)[-1]
        warnings.append(f"not UTF-8: decoded as {chosen}")
    text = repaired.data.decode("utf-8", errors="replace")
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
    inside = folder.resolve()
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in wanted or path.name.startswith(".") or path.is_dir():
            continue
        relative = path.relative_to(folder).as_posix()
        refused = _refusal(path, inside)
        if refused:
            result.warnings.append(f"{relative}: skipped: {refused}")
            continue
        notes: list[str] = []
        try:
            title, body = read_article(path, notes)
        except (OSError, ValueError) as exc:
            result.warnings.append(f"{relative}: skipped: {exc}")
            continue
        result.warnings.extend(f"{relative}: {note}" for note in notes)
        if not title:
            result.warnings.append(f"{relative}: skipped: empty file")
            continue
        result.entries.append(RawEntry(source=source.name, guid=None, link=None, title=title, body=body,
                                       body_is_html=False, path=relative))
    return result


def _refusal(path: Path, inside: Path) -> str | None:
    """Why a file of the folder is not read, if it is not: a link that leads out of the folder (to
    /etc/passwd, say, which would then be mailed) or anything but a regular file."""
    try:
        real = path.resolve(strict=True)
        mode = real.stat().st_mode
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        return f"cannot be read: {exc.__class__.__name__}"
    if not real.is_relative_to(inside):
        return "a link to a file outside the source's folder is not followed"
    if not stat.S_ISREG(mode):
        return "not a regular file (a device, FIFO or socket is never read)"
    return None
