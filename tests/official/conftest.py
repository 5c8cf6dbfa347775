"""Fixtures for the official source tests: build a preset, run its fetch against loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from monitor.config import parse_config
from monitor.official import fetch_official
from monitor.sources.feeds import FetchResult, make_client


def _preset(kind: str, url: str, **keys: Any) -> Any:
    extra = "".join(f", {k}: {v}" for k, v in keys.items())
    config = parse_config(f'sources:\n  - {{name: {kind}-test, kind: {kind}, url: "{url}"{extra}}}\n')
    return config.sources[0]


def _fetch(source: Any, etag: str | None = None) -> FetchResult:
    async def run() -> FetchResult:
        client = make_client()
        try:
            return await fetch_official(source, client, etag=etag, last_modified=None)
        finally:
            await client.aclose()

    return asyncio.run(run())


@pytest.fixture
def preset() -> Callable[..., Any]:
    """preset(kind, url, **keys): a validated official source config."""
    return _preset


@pytest.fixture
def fetch() -> Callable[..., FetchResult]:
    """fetch(source, etag=None): run the preset's fetch with a fresh client."""
    return _fetch
