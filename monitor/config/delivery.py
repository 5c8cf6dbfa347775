"""Where digests go: the ``smtp:`` relay and the delivery targets of ``deliver:`` lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from monitor.config.base import Duration, RelPath, Strict


class SmtpConfig(Strict):
    host: str = "localhost"
    port: int = Field(default=25, gt=0, lt=65536)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "Advisory Monitor <monitor@localhost>"
    timeout: Duration = timedelta(seconds=30)
    # Concurrent sends open up to this many connections, each reused across digests.
    connections: int = Field(default=4, ge=1, le=32)
    # A CA bundle for a relay whose certificate a private CA signed; unset = the system's CAs.
    ca_file: RelPath | None = None

    @field_validator("username", "password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value


class FileTarget(Strict):
    kind: Literal["file"]
    path: RelPath


class EmailTarget(Strict):
    kind: Literal["email"]
    to: list[str] = Field(min_length=1)


class WebhookTarget(Strict):
    kind: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    timeout: Duration = timedelta(seconds=10)
    headers: dict[str, str] = Field(default_factory=dict)
    template: RelPath | None = None
    # Link-local and cloud metadata addresses are refused unless this says the receiver is meant.
    allow_private: bool = False

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        # Checked here, not at send time: a bad URL found at send time has already claimed its items.
        # The message never repeats the URL: it may carry credentials.
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            raise ValueError("expected an http(s) URL, got something that is not a URL") from None
        if parts.scheme not in ("http", "https"):
            got = f"the scheme '{parts.scheme}'" if parts.scheme else "no scheme"
            raise ValueError(f"expected an http:// or https:// URL, got {got}")
        if not host:
            raise ValueError("expected an http(s) URL with a host name")
        return value

    @field_validator("secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value


Target = Annotated[FileTarget | EmailTarget | WebhookTarget, Field(discriminator="kind")]
