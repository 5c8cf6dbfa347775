"""Sources stage: configured sources polled into raw entries, and the ingest step to the store.

``poll`` is the seam: the ``Source`` protocol every source kind meets, its ``PollResult`` and the
registry of pollers by config ``kind`` (files and feeds here; the official presets register in
``monitor.official``). ``files`` reads a folder of articles; ``feeds`` fetches RSS/Atom under one
fetch policy (conditional GET, deadline, size cap, redirects), parsed by ``feedparsing`` behind
``xmlguard`` and ``charset``, in ``parsepool`` worker processes. ``extract`` turns bodies into
clean text; ``ingest`` gives entries their ids, versions and near-duplicate checks for the store.
Only the seam is imported here: the fetching modules bring the HTTP stack along, and the
classifier, which reads ``extract``, has no use for it.
"""

from __future__ import annotations

from monitor.models import PollResult
from monitor.sources.poll import POLLERS, FeedPoller, FilesPoller, Source, SourceFactory

__all__ = ["POLLERS", "FeedPoller", "FilesPoller", "PollResult", "Source", "SourceFactory"]
