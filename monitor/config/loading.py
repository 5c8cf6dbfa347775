"""Reading a configuration file: ``${VAR}`` interpolation, validation, and errors with positions.

Errors read ``config.yaml:14:7: alerts[2].match.regions[0]: <what is wrong> (did you mean ...?)``
and all of them are reported at once. ``${VAR}`` and ``${VAR:-default}`` are interpolated in
string values only (never across the raw file), so a secret can stay in the environment.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ValidationError

from monitor.config.model import Config
from monitor.errors import ConfigError, Problem
from monitor.support.redact import is_secret_key, redact_text
from monitor.support.yamlpos import DuplicateKeyError, Located, load_located

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(value: str, environ: typing.Mapping[str, str], missing: str | None = None) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; a missing VAR without default reads as
    ``missing``, or raises KeyError when that is None."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        if missing is not None:
            return missing
        raise KeyError(name)

    return _ENV.sub(replace, value)


# What stands for an unset delivery variable when the command delivers nothing: a value every
# field accepts (a URL field gets a URL) and that no one could mistake for a real address.
_UNSET = "unset.invalid"


def _interpolate_all(located: Located, environ: typing.Mapping[str, str], file: str,
                     delivering: bool = True) -> list[Problem]:
    problems: list[Problem] = []

    def walk(node: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            try:
                return interpolate(node, environ)
            except KeyError as exc:
                if not delivering and _delivers(path):
                    # A command that sends nothing (items, status, digests...) needs no delivery secret.
                    return _stand_in(node, environ, path)
                line, col = located.position(path, value=True) or (None, None)
                problems.append(Problem(file, line, col, format_path(path),
                                        f"environment variable {exc.args[0]} is not set",
                                        None))
        return node

    located.data = walk(located.data, ())
    return problems


def _stand_in(value: str, environ: typing.Mapping[str, str], path: tuple[str | int, ...]) -> str:
    text = interpolate(value, environ, missing=_UNSET)
    return text if path[-1] != "url" or "://" in text else f"https://{_UNSET}/"


def _delivers(path: tuple[str | int, ...]) -> bool:
    """Whether a config value is only used to deliver (SMTP settings, a target of an alert or trip)."""
    return bool(path) and (path[0] == "smtp" or "deliver" in path)


def format_path(path: typing.Sequence[str | int]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items() if f.exclude is not True]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every BaseModel class an annotation can hold (through lists, unions, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _model_at(path: typing.Sequence[str | int], data: Any) -> list[type[BaseModel]]:
    """The models that could hold the mapping at ``path`` of the raw data (for suggestions)."""
    candidates: list[type[BaseModel]] = [Config]
    node = data
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            nxt: list[type[BaseModel]] = []
            for model in candidates:
                for name, info in model.model_fields.items():
                    if part in (name, info.alias):
                        nxt.extend(_models_in(info.annotation))
            node = node.get(part) if isinstance(node, dict) else None
            candidates = nxt
        if isinstance(node, dict) and "kind" in node:
            narrowed = [m for m in candidates if "kind" in m.model_fields
                        and node["kind"] in typing.get_args(m.model_fields["kind"].annotation)]
            candidates = narrowed or candidates
    return candidates


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """Drop the discriminator tags and union branch names pydantic adds to error locations."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            path.append(part)
            node = node[part] if part < len(node) else None
        elif isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(part, str) and part == "not_" and isinstance(node, dict) and "not" in node:
            path.append("not")
            node = node["not"]
        elif isinstance(part, str) and _is_branch_label(part, node):
            continue
        else:
            # A missing key: name it, even though the data does not hold it.
            path.append(part)
            break
    return tuple(path)


def _is_branch_label(part: str, node: Any) -> bool:
    """Union branch names in pydantic locations: a discriminator tag, a class or validator name."""
    if isinstance(node, dict) and part == node.get("kind"):
        return True
    return part[:1].isupper() or "[" in part or "-" in part or not isinstance(node, dict)


def _explain(error: dict[str, Any], path: tuple[str | int, ...], data: Any) -> tuple[str, str | None]:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        allowed: list[str] = []
        for model in _model_at(path[:-1], data):
            allowed.extend(_field_names(model))
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        expected = ", ".join(sorted(set(allowed)))
        return f"unknown key '{key}' (expected one of: {expected})", close[0] if close else None
    if kind == "missing":
        return f"required key '{path[-1] if path else '?'}' is missing", None
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        tag = str(ctx.get("tag", ""))
        options = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        close = difflib.get_close_matches(tag, options, n=1, cutoff=0.5)
        return f"unknown kind '{tag}' (expected one of: {', '.join(options)})", close[0] if close else None
    if kind == "union_tag_not_found":
        return "missing 'kind' (expected one of: " + str(error.get("ctx", {}).get("discriminator", "")) + ")", None
    if kind == "literal_error" and path and path[-1] == "schedule":
        expected = 'immediate, {every: 1h} or {cron: "0 7 * * *", timezone: UTC}'
        return f"expected {expected}, got {error.get('input')!r}", None
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    got = error.get("input")
    if kind not in ("value_error",) and not isinstance(got, dict | list):
        message += f", got {_shown(got, path)}"
    return message, None


def _shown(value: Any, path: tuple[str | int, ...]) -> str:
    """A wrong value as an error may show it: never the value of a secret-bearing key (a password in
    the wrong field is still a password), a URL without its credentials."""
    names = [str(part) for part in path if isinstance(part, str)]
    if any(is_secret_key(name) for name in names) or "headers" in names[:-1]:
        return f"a {type(value).__name__} (not shown: it may be a secret)"
    if isinstance(value, str) and "://" in value:
        return repr(redact_text(value))
    return repr(value)


def parse_config(text: str, file: str = "config.yaml", *, base: Path | None = None,
                 environ: typing.Mapping[str, str] | None = None, delivering: bool = True) -> Config:
    """Validate config text; raises ConfigError listing every problem with file:line:col.

    ``delivering=False`` (commands that send nothing) lets the variables of delivery settings
    (``smtp``, targets under ``deliver``) be unset: they read as ``unset.invalid``."""
    try:
        located = load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        if isinstance(exc, DuplicateKeyError):
            raise ConfigError([Problem(file, line, col, format_path(exc.path), problem)]) from exc
        raise ConfigError([Problem(file, line, col, "", f"not valid YAML: {problem}")]) from exc
    if not isinstance(located.data, dict):
        raise ConfigError([Problem(file, 1, 1, "", "expected a mapping of keys (database, sources, alerts, ...)")],
                          hint="see config.example.yaml")
    problems = _interpolate_all(located, os.environ if environ is None else environ, file, delivering)
    if problems:
        raise ConfigError(problems, hint="export the variable, or write ${VAR:-default} to give a default")
    base = base or Path(file).resolve().parent
    try:
        config = Config.model_validate(located.data, context={"base": base})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = _data_path(tuple(error["loc"]), located.data)
            message, suggestion = _explain(dict(error), path, located.data)
            at_value = error["type"] not in ("extra_forbidden", "missing")
            line, col = located.position(path, value=at_value) or (None, None)
            problems.append(Problem(file, line, col, format_path(path), message, suggestion))
        raise ConfigError(_dedupe(problems)) from exc
    return config.model_copy(update={"path": Path(file).resolve()})


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for problem in problems:
        if str(problem) not in seen:
            seen.add(str(problem))
            out.append(problem)
    return out


def load_config(path: str | Path, *, delivering: bool = True) -> Config:
    """Read and validate a config file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([Problem(str(file), None, None, "", "no such file")],
                          hint="pass --config FILE, or copy config.example.yaml to config.yaml") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(file), None, None, "", f"cannot read: {exc}")]) from exc
    return parse_config(text, str(file), base=file.resolve().parent, delivering=delivering)
