"""Digest stage: render one alert's digest as an email (subject, text, HTML) and a JSON payload.

Items are grouped by country, then by threat, highest severity first (monitor/digest/views.py).
Every value taken from an article is untrusted: the text part never evaluates it, the HTML part
autoescapes it, links are kept only for http(s) URLs, and any feed HTML a template chooses to show
goes through nh3 again (``|sanitize_html``, monitor/digest/sanitize.py). User templates
(``alert.template``, the config's ``templates:`` folder) run in Jinja's immutable sandbox.
Rendering reads no clock and no randomness: the same Digest renders to the same bytes, so a retry
re-sends exactly what the first attempt sent.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from monitor.config import AlertRule
from monitor.digest.sanitize import safe_url, sanitize_html
from monitor.digest.views import CountryGroup, digest_zone, group, iso_time, local_time, subject
from monitor.errors import TemplateError
from monitor.models import Digest, RenderedDigest
from monitor.support.resources import templates_dir

TEXT_TEMPLATE = "digest.txt"
HTML_TEMPLATE = "digest.html"
_HTML_SUFFIXES = (".html", ".htm")

def _finalize_env(env: jinja2.Environment) -> jinja2.Environment:
    env.filters["sanitize_html"] = sanitize_html
    env.filters["safe_url"] = safe_url
    return env


_ENV_OPTIONS: dict[str, Any] = {
    # .txt (the text part) is plain text; anything not known to be plain text is escaped.
    "autoescape": jinja2.select_autoescape(enabled_extensions=("html", "htm", "xml"),
                                           disabled_extensions=("txt", "text"),
                                           default_for_string=True, default=True),
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "undefined": jinja2.StrictUndefined,
}


@functools.lru_cache(maxsize=1)
def _shipped_env() -> jinja2.Environment:
    # The shipped templates are our own code: a plain environment, faster than the sandbox.
    return _finalize_env(jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()), **_ENV_OPTIONS))


@functools.lru_cache(maxsize=64)
def _user_env(folders: tuple[Path, ...]) -> jinja2.Environment:
    loaders = [jinja2.FileSystemLoader(str(f)) for f in folders]
    loaders.append(jinja2.FileSystemLoader(templates_dir()))
    return _finalize_env(ImmutableSandboxedEnvironment(loader=jinja2.ChoiceLoader(loaders), **_ENV_OPTIONS))


def user_environment(folders: tuple[Path, ...] = ()) -> jinja2.Environment:
    """A sandboxed environment searching ``folders`` then the shipped templates (webhook bodies too)."""
    return _user_env(folders)


def _choose(alert: AlertRule, templates: Path | None) -> tuple[jinja2.Environment, str, str]:
    folders: list[Path] = []
    text_name, html_name = TEXT_TEMPLATE, HTML_TEMPLATE
    if alert.template is not None:
        if alert.template.is_file():
            # One file overrides the part its suffix names; the other part stays the default.
            folders.append(alert.template.parent)
            if alert.template.suffix.lower() in _HTML_SUFFIXES:
                html_name = alert.template.name
            else:
                text_name = alert.template.name
        elif alert.template.is_dir():
            folders.append(alert.template)
        else:
            raise _template_error(alert.template, None, "template not found")
    if templates is not None:
        if not templates.is_dir():
            raise _template_error(templates, None, "templates folder not found")
        folders.append(templates)
    if not folders:
        return _shipped_env(), text_name, html_name
    return _user_env(tuple(folders)), text_name, html_name


def _template_error(where: Path | str | None, line: int | None, message: str) -> TemplateError:
    return TemplateError(shown_path(where or "<template>"), line, message)


def shown_path(where: Path | str) -> str:
    """A template's file as a person finds it: relative to the working folder when inside it."""
    path = Path(where)
    try:
        return str(path.relative_to(Path.cwd())) if path.is_absolute() else str(path)
    except ValueError:
        return str(path)


def template_line(exc: BaseException) -> tuple[str | None, int | None]:
    """The template file and line an error was raised at, from the traceback Jinja rewrites so
    that its frames point into the template source (the innermost one: an included template's)."""
    found: tuple[str | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def located_error(exc: Exception, name: str, *, kind: str = "") -> TemplateError:
    """The TemplateError of anything rendering ``name`` raised, at the template's file and line."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return _template_error(exc.filename or name, exc.lineno, f"{kind}{exc.message or exc}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return _template_error(name, None, f"{kind}template not found: {exc.name}")
    file, line = template_line(exc)
    said = str(exc)
    return _template_error(file or name, line, f"{kind}{type(exc).__name__}" + (f": {said}" if said else ""))


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any], *,
                    alert: str | None = None) -> str:
    """Render one template; whatever it raises becomes a TemplateError at its file and line."""
    try:
        return env.get_template(name).render(context)
    except Exception as exc:
        # A user template is code: besides Jinja's own errors (syntax, undefined names, the
        # sandbox saying no) it raises whatever its expressions do ({{ 1/0 }}, {{ n + "x" }}).
        error = located_error(exc, name)
        raise (error.for_alert(alert) if alert is not None else error) from exc


def payload(digest: Digest, groups: list[CountryGroup]) -> dict[str, Any]:
    """The webhook/file JSON exactly as ARCHITECTURE.md names it, items in digest order."""
    return {
        "digest_id": digest.id,
        "alert": digest.alert,
        "created_at": iso_time(digest.created_at),
        "items": [e["_payload"] for c in groups for t in c.threats for e in t.entries],
    }


def render(digest: Digest, alert: AlertRule, *, templates: Path | None = None) -> RenderedDigest:
    """Render ``digest`` for ``alert``: subject, text and HTML parts, and the JSON payload."""
    tz = digest_zone(digest, alert)
    groups = group(digest, alert, tz)
    count = sum(c.count for c in groups)
    title = subject(alert.name, groups, count)
    context = {
        "subject": title,
        "alert": alert.name,
        "digest_id": digest.id,
        "created": local_time(digest.created_at, tz),
        "timezone": tz.key,
        "count": count,
        "groups": groups,
        "digest": digest,
    }
    try:
        env, text_name, html_name = _choose(alert, templates)
    except TemplateError as exc:
        raise exc.for_alert(alert.name) from exc
    return RenderedDigest(
        digest_id=digest.id,
        subject=title,
        text=render_template(env, text_name, context, alert=alert.name),
        html=render_template(env, html_name, context, alert=alert.name),
        payload=payload(digest, groups),
    )
