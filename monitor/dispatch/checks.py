"""Dispatch stage: alerts whose templates fail, found early and held, one alert at a time.

A template is code the user wrote; one alert's broken template must not stop the other alerts.
1. When a dispatcher takes up a config, every alert with templates of its own (``template:``, the
   config's ``templates:`` folder, a webhook's body ``template:``) renders them on a sample digest
   (monitor/digest/sample.py). One that fails is *held* from the start: its error names the alert,
   the template file and line. ``advisory-monitor check`` reports it as a config error (exit 2).
2. A held alert claims nothing, so its items stay waiting, never lost. It tries again after a
   backoff (1 m, 2 m, 4 m ... 1 h): the sample first, then its real digest. Editing a template
   reloads the daemon (monitor/service/daemon.py watches them), which tries at once.
3. A template that renders the sample but fails on some real data fails the same way at send time
   and is held from then on, with the same backoff.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from monitor.alerts import DEFAULT_THREATS, compile_rules
from monitor.classify.engine import Engine
from monitor.config import AlertRule, Config, WebhookTarget
from monitor.deliver import check_target
from monitor.deliver.report import roughly
from monitor.digest import render_sample
from monitor.errors import TemplateError
from monitor.support.backoff import backoff
from monitor.travel.trips import alert_name, plan

FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
RETRY_JITTER = 0.1


def has_own_templates(alert: AlertRule, templates: Path | None) -> bool:
    """Whether anything but the shipped templates renders the alert's digests."""
    own_body = any(isinstance(t, WebhookTarget) and t.template is not None for t in alert.deliver)
    return alert.template is not None or templates is not None or own_body


def check_templates(alert: AlertRule, templates: Path | None, *, shipped_only: bool = False) -> None:
    """Render the alert's templates on the sample digest; raises the alert's TemplateError.
    ``shipped_only``: the digest itself is rendered by the shipped templates (a trip's), only the
    targets' own templates are the user's."""
    try:
        rendered = render_sample(alert, None if shipped_only else templates)
        for target in alert.deliver:
            check_target(target, rendered)
    except TemplateError as exc:
        raise exc.for_alert(alert.name) from exc


def template_errors(alerts: Iterable[AlertRule], templates: Path | None,
                    shipped: Callable[[AlertRule], bool] = lambda alert: False) -> dict[str, TemplateError]:
    """alert name -> the error of its templates on the sample digest, for the alerts that fail."""
    errors: dict[str, TemplateError] = {}
    for alert in alerts:
        only_shipped = shipped(alert)
        if not has_own_templates(alert, None if only_shipped else templates):
            continue
        try:
            check_templates(alert, templates, shipped_only=only_shipped)
        except TemplateError as exc:
            errors[alert.name] = exc
    return errors


def check_config(config: Config, engine: Engine) -> list[TemplateError]:
    """What a dispatcher checks when it takes a config up, with no database (``advisory-monitor
    check``): the alert rules against the classification rules (raises their ConfigError), then
    every alert's templates on the sample digest (returns their errors)."""
    threat_types = tuple(engine.threat_types) or DEFAULT_THREATS
    travel = plan(config, engine.gazetteer, threat_types)
    compile_rules(travel.config, engine.gazetteer, threat_types)
    trips = {alert_name(name) for name in travel.trips}
    return list(template_errors(travel.config.alerts, config.templates, lambda a: a.name in trips).values())


@dataclass
class Held:
    """An alert held back because its templates failed."""

    error: TemplateError
    attempts: int
    retry_at: datetime
    # Failed on the sample digest (not only on some real data): the sample must render again first.
    sample: bool
    # Logged already: the daemon says it once per failure, not on every pass.
    announced: bool = False

    def note(self, waiting: int | None, now: datetime, *, retry: bool = True) -> str:
        """The line that says so, with how many items wait (None: not counted); ``retry``: with when
        it tries again (the daemon's; `once` does not)."""
        if waiting is None:
            items = "its items wait"
        else:
            items = f"{waiting} item{'s wait' if waiting != 1 else ' waits'}" if waiting else "nothing waits"
        if retry:
            later = max(self.retry_at - now, timedelta(0))
            items += f" (next try in {roughly(later)}, or when the template changes)"
        return f"digest not built, template {self.error.located}; {items}"


class HeldAlerts:
    """The alerts whose templates failed, and when each tries again."""

    def __init__(self, clock: Callable[[], datetime], rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self.alerts: dict[str, Held] = {}

    def get(self, alert: str) -> Held | None:
        return self.alerts.get(alert)

    def waiting(self, alert: str, now: datetime) -> Held | None:
        """The alert's hold while it waits out its backoff; None when it may try now."""
        held = self.alerts.get(alert)
        return held if held is not None and now < held.retry_at else None

    def hold(self, alert: str, error: TemplateError, *, sample: bool) -> Held:
        before = self.alerts.get(alert)
        attempts = before.attempts + 1 if before is not None else 1
        wait = backoff(attempts, first=FIRST_RETRY, cap=MAX_RETRY, jitter=RETRY_JITTER, rng=self.rng)
        held = self.alerts[alert] = Held(error.for_alert(alert), attempts, self.clock() + wait, sample)
        return held

    def release(self, alert: str) -> bool:
        """Forget the alert's hold (its templates render again); whether it was held."""
        return self.alerts.pop(alert, None) is not None

