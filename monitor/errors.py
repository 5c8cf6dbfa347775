"""The MonitorError tree: every error formats its own message and, where it can, a hint.

Only ``cli.py`` prints errors and picks exit codes; stages raise these, wrapping third-party
exceptions with ``raise ... from exc`` at their edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class MonitorError(Exception):
    """Base of every error the product raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


@dataclass(frozen=True)
class Problem:
    """One located problem in a YAML file: ``file:line:col: path: message``."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    suggestion: str | None = field(default=None)

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        return text


class ProblemsError(MonitorError):
    """An error carrying every problem found, not just the first."""

    kind = "problem"

    def __init__(self, problems: list[Problem], hint: str | None = None) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} {self.kind}{'s' if count != 1 else ''} found"
        body = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{head}:\n{body}" if count > 1 else body, hint)


class ConfigError(ProblemsError):
    """The configuration file is missing, unreadable or invalid."""

    exit_code = 2
    kind = "config error"


class TemplateError(ConfigError):
    """A digest or webhook template failed to load or render (a syntax error, a name it does not
    know, the sandbox refusing, or a plain Python error such as ``{{ 1/0 }}``). It is a fault of
    one alert's configuration: ``once`` and the daemon hold that alert and go on with the others."""

    def __init__(self, file: str, line: int | None, reason: str, *, alert: str | None = None,
                 hint: str | None = None) -> None:
        self.file, self.line, self.reason, self.alert = file, line, reason, alert
        where = f"alert '{alert}'" if alert is not None else "template"
        super().__init__([Problem(file, line, None, where, reason)],
                         hint=hint or "fix the template; the shipped ones are in monitor/digest/templates/")

    @property
    def located(self) -> str:
        """``file:line: reason``, without the alert (for lines that name it already)."""
        return f"{self.file}:{self.line}: {self.reason}" if self.line is not None else f"{self.file}: {self.reason}"

    def for_alert(self, alert: str) -> TemplateError:
        """The same error, naming the alert whose template it is."""
        if self.alert == alert:
            return self
        error = TemplateError(self.file, self.line, self.reason, alert=alert, hint=self.hint)
        error.__cause__ = self.__cause__
        return error


class RuleError(ProblemsError):
    """A classification rule file is invalid."""

    exit_code = 2
    kind = "rule error"


class UsageError(MonitorError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = 2


class SourceError(MonitorError):
    """A source could not be fetched or parsed. Reported per source; never fatal to a cycle."""

    def __init__(self, source: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"source '{source}': {message}", hint)
        self.source = source
        self.reason = message


class StoreError(MonitorError):
    """The database could not be opened, read or written. ``transient``: a condition that passes
    (the database locked or busy, the server unreachable or restarting, a serialization failure,
    the disk full): the same work may succeed if tried again; otherwise retrying cannot help."""

    def __init__(self, message: str, hint: str | None = None, *, transient: bool = False) -> None:
        super().__init__(message, hint)
        self.transient = transient


class LockError(MonitorError):
    """Another instance holds the database lock."""


class DeliveryError(MonitorError):
    """A digest could not be delivered to one target."""

    def __init__(self, message: str, retryable: bool, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.retryable = retryable
