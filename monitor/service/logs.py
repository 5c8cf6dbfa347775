"""Log lines: one per event, for a person by default or as JSON for log shippers."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from monitor.support.redact import redact_text

# C0 controls but tab and newline, DEL and C1 controls: a carriage return or an escape sequence in a
# feed title or a file name could rewrite what a terminal shows.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A line break followed by anything but indentation would start what reads as a log line of its own.
_FORGEABLE_BREAK = re.compile(r"\n(?=[^ \t\n])")


def escape_line(text: str) -> str:
    """One event stays one log line's worth: controls are shown as \\xNN and every continuation line
    is indented, so text from a feed or a file name can never pass for a line of the log."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return _FORGEABLE_BREAK.sub("\n  ", text)


class TextFormatter(logging.Formatter):
    """Every line, ours or a library's (httpx logs each request's URL), escaped and with the secrets
    of any URL in it masked."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_line(redact_text(super().format(record)))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        if record.exc_info:
            data["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def configure_logging(*, debug: bool = False, fmt: str = "text", events: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO if events else logging.WARNING)
    if not debug:
        # alembic: our own line says when the schema was upgraded.
        for noisy in ("httpx", "httpcore", "apscheduler", "aiosmtplib", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
