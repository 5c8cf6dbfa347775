"""What every configuration model shares: strictness, durations, paths relative to the config file."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo

from monitor.support.durations import parse_duration


def _base(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("base", "."))


def relative_path(value: Path, info: ValidationInfo) -> Path:
    value = Path(os.path.expanduser(str(value)))
    return value if value.is_absolute() else (_base(info) / value).resolve()


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

MIN_INTERVAL = timedelta(seconds=1)


def _at_least_the_floor(value: timedelta) -> timedelta:
    # `every: 0s` would poll (or send) as fast as the scheduler can loop.
    if value < MIN_INTERVAL:
        raise ValueError(f"expected an interval of at least {MIN_INTERVAL.total_seconds():g}s, "
                         f"got {value.total_seconds():g}s")
    return value


# How often something repeats: a duration, never under a second.
Interval = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_at_least_the_floor)]
RelPath = Annotated[Path, AfterValidator(relative_path)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def require_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two {what}s are named {name!r}; {what} names must be unique")
        seen.add(name)
