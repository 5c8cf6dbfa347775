"""What a cycle reports of its digests: one line per digest, with one result per target."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass
class TargetResult:
    kind: str
    label: str
    ok: bool
    error: str | None = None
    retry_in: timedelta | None = None
    where: str | None = None  # a file target's folder
    target: str | None = None  # the delivery's target key

    def state(self) -> str:
        """How it went, without the kind: ``ok``, ``FAILED (retrying in 2m): ...``."""
        if self.ok:
            return "ok" + (f" ({self.where})" if self.where else "")
        if self.retry_in is not None:
            return f"FAILED (retrying in {roughly(self.retry_in)}): {self.error}"
        return f"FAILED (gave up): {self.error}"

    def __str__(self) -> str:
        return f"{self.kind} {self.state()}"


@dataclass
class DigestOutcome:
    """One line of a cycle's report: a digest sent (or retried), held back, or not built."""

    alert: str
    digest_id: str | None = None
    items: int = 0
    carried: int = 0
    retry: bool = False
    results: list[TargetResult] = field(default_factory=list)
    note: str | None = None
    error: str | None = None
    # The error is the alert's template failing (a config error: `once` exits 2 after the rest).
    template_failed: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None or any(not r.ok for r in self.results)

    def __str__(self) -> str:
        if self.digest_id is None:
            return f"{self.alert}: {self.error or self.note}"
        what = "retried digest" if self.retry else "digest"
        text = f"{self.alert}: {what} {self.digest_id} with {self.items} item{'s' if self.items != 1 else ''}"
        if self.results:
            text += " -> " + ", ".join(str(r) for r in self.results)
        if self.carried:
            text += f"; {self.carried} more carried to the next digest"
        if self.note:
            text += f"; {self.note}"
        return text


def roughly(delta: timedelta) -> str:
    """A jittered delay as a person reads it: 1m, 17m, 2.5h."""
    seconds = delta.total_seconds()
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
