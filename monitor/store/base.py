"""What the store's modules share below ``Store`` itself, so that none of them needs ``core``'s
internals: the one thing their readers take from a store, and two small helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")


class HasEngine(Protocol):
    """What AdvisoryLevels, Outbox and ItemGeometry take from the store they come with."""

    @property
    def engine(self) -> Engine: ...


def aware(value: datetime | None) -> Any:
    """A stored time as an aware UTC datetime (SQLite hands back naive ones)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def chunks(values: list[T], size: int) -> Iterator[list[T]]:
    """``values`` in slices of at most ``size`` (bound parameters per statement stay few)."""
    for i in range(0, len(values), size):
        yield values[i:i + size]
