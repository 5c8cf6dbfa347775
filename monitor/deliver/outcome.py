"""What one delivery (one digest to one target) reports back when it did not raise."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DeliveryOutcome:
    """A delivery that went out, fully or in part.

    ``failures`` maps an email recipient the server refused to its SMTP reply; empty when every
    recipient accepted. A delivery no recipient accepted raises DeliveryError instead.
    """

    summary: str
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return bool(self.failures)
