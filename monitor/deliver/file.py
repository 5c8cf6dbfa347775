"""File delivery: one folder per digest, ``<path>/<digest_id>/`` with message.eml, digest.html, digest.json.

The files are written into a hidden temporary folder beside the final one and renamed into place,
so a reader (or a crash) never sees half a digest. Writing the same digest again is idempotent:
identical files are left alone, different ones replace the folder as a whole.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from monitor.config import FileTarget
from monitor.deliver.message import message_bytes
from monitor.deliver.outcome import DeliveryOutcome
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest

log = logging.getLogger(__name__)

# A digest id becomes a folder name: no separators, no leading dot, nothing a shell would trip on.
_SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$")


def digest_files(rendered: RenderedDigest, sender: str) -> dict[str, bytes]:
    payload = json.dumps(rendered.payload, ensure_ascii=False, indent=2) + "\n"
    return {
        "message.eml": message_bytes(rendered, sender=sender),
        "digest.html": rendered.html.encode("utf-8"),
        "digest.json": payload.encode("utf-8"),
    }


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open a directory; the rename is still atomic
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _same(folder: Path, files: dict[str, bytes]) -> bool:
    try:
        return sorted(p.name for p in folder.iterdir()) == sorted(files) and all(
            (folder / name).read_bytes() == data for name, data in files.items())
    except OSError:
        return False


def write_digest(root: Path, digest_id: str, files: dict[str, bytes]) -> Path:
    """Write ``files`` as ``root/digest_id/`` atomically; returns the folder."""
    if not _SAFE_ID.match(digest_id):
        raise DeliveryError(f"digest id {digest_id!r} cannot be a folder name", retryable=False)
    root.mkdir(parents=True, exist_ok=True)
    final = root / digest_id
    if final.is_dir() and _same(final, files):
        return final
    # Leftovers of an attempt that crashed half-way for this same digest.
    for stale in root.glob(f".{digest_id}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest_id}.", suffix=".tmp", dir=root))
    try:
        for name, data in files.items():
            with open(staging / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        _fsync_dir(staging)
        if final.exists():
            # A folder cannot be renamed over a non-empty one: move the old aside, then swap.
            old = Path(tempfile.mkdtemp(prefix=f".{digest_id}.", suffix=".tmp", dir=root))
            os.rename(final, old / "old")
            os.rename(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, final)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


async def write(target: FileTarget, rendered: RenderedDigest, sender: str) -> DeliveryOutcome:
    """Deliver ``rendered`` into ``target.path``; raises DeliveryError(retryable=...)."""
    files = digest_files(rendered, sender)
    try:
        folder = await asyncio.to_thread(write_digest, target.path, rendered.digest_id, files)
    except PermissionError as exc:
        raise DeliveryError(f"cannot write digest to {target.path}: {exc}", retryable=False,
                            hint="check the file target's path and its permissions") from exc
    except OSError as exc:  # disk full, a network mount away: worth another try later
        raise DeliveryError(f"cannot write digest to {target.path}: {exc}", retryable=True) from exc
    log.info("digest %s written to %s", rendered.digest_id, folder)
    return DeliveryOutcome(f"written to {folder}")
