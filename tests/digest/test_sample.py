"""A template's failure, whatever it raises, is a TemplateError naming the alert, the file and the
line; the sample digest every alert's templates are checked against renders with every field."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import AlertRule, FileTarget
from monitor.digest import render, render_sample, sample_digest
from monitor.errors import ConfigError, TemplateError


def alert(**kwargs: object) -> AlertRule:
    return AlertRule(name="caucasus-security", deliver=[FileTarget(kind="file", path=Path("/tmp/unused"))],
                     **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("body", "line", "reason"), [
    ("ok\n{{ 1/0 }}\n", 2, "ZeroDivisionError: division by zero"),
    ("{{ subject }}\n\n{{ count + ' items' }}\n", 3, "TypeError: unsupported operand type(s) for +"),
    ("{{ '%d' % subject }}\n", 1, "TypeError: %d format"),
    ("{% for g in groups %}\n{{ g.nope }}\n{% endfor %}\n", 2, "UndefinedError:"),
])
def test_a_plain_python_error_in_a_template_names_the_alert_file_and_line(tmp_path: Path, body: str, line: int,
                                                                          reason: str) -> None:
    template = tmp_path / "mine.txt"
    template.write_text(body, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        render(sample_digest(alert()), alert(template=template))
    error = info.value
    assert isinstance(error, ConfigError)  # a fault of the config's template, not a bug of ours
    assert (error.alert, error.line, Path(error.file).name) == ("caucasus-security", line, "mine.txt")
    assert error.reason.startswith(reason)
    assert str(error).startswith(f"{error.file}:{line}: alert 'caucasus-security': {reason}")


def test_an_error_in_an_included_template_is_located_in_that_template(tmp_path: Path) -> None:
    (tmp_path / "digest.txt").write_text("head\n{% include 'part.txt' %}\n", encoding="utf-8")
    (tmp_path / "part.txt").write_text("one\ntwo\n{{ digest.entries[0].item.published + 1 }}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        render(sample_digest(alert()), alert(), templates=tmp_path)
    assert Path(info.value.file).name == "part.txt" and info.value.line == 3
    assert info.value.located.endswith("part.txt:3: TypeError: unsupported operand type(s) for +: "
                                       "'datetime.datetime' and 'int'")


def test_a_syntax_error_and_a_missing_template_name_the_alert(tmp_path: Path) -> None:
    (tmp_path / "digest.html").write_text("<p>\n{% for x in %}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        render(sample_digest(alert()), alert(), templates=tmp_path)
    assert (info.value.alert, info.value.line) == ("caucasus-security", 2)
    with pytest.raises(TemplateError) as missing:
        render(sample_digest(alert()), alert(template=tmp_path / "gone.txt"))
    assert missing.value.alert == "caucasus-security" and "template not found" in str(missing.value)


def test_the_sample_has_every_field_a_template_may_read(tmp_path: Path) -> None:
    digest = sample_digest(alert(timezone="Asia/Baku"))
    assert len(digest.entries) == 2 and digest.timezone == "Asia/Baku"
    for entry in digest.entries:
        item = entry.item
        assert item.url and item.published and item.author and item.categories and item.points
        assert entry.classification.threats[0].evidence and entry.why
    template = tmp_path / "all.txt"
    template.write_text(
        "{% for g in groups %}{% for t in g.threats %}{% for e in t.entries %}"
        "{{ e.item.published.strftime('%Y') }} {{ e.item.author|upper }} {{ e.url }} {{ e.item.points[0].lat }}"
        "{% if e.official %}{{ e.official.change }}{% endif %}\n"
        "{% endfor %}{% endfor %}{% endfor %}", encoding="utf-8")
    rendered = render_sample(alert(template=template))
    assert "level 2 -> 3" in rendered.text and "NEWSROOM" in rendered.text
    # The shipped templates render it too, to the same bytes each time (no clock is read).
    assert render_sample(alert()).html == render_sample(alert()).html
