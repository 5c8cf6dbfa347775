"""A free loopback port: bound, read and released, so a test server can take it (or, left alone, so
nothing answers there)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
