"""Config loading: every bad-config fixture fails with exactly the message beside it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import EverySchedule, FeedSource, FilesSource, interpolate, load_config, parse_config
from monitor.errors import ConfigError
from monitor.support.durations import parse_duration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
BAD = sorted(FIXTURES.glob("*.yaml"))


@pytest.mark.parametrize("case", BAD, ids=[p.stem for p in BAD])
def test_bad_config_reports_place_and_expectation(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    monkeypatch.delenv("ADVISORY_TEST_UNSET_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as info:
        load_config(case.name)
    got = "\n".join(str(p) for p in info.value.problems)
    assert got == case.with_suffix(".expected").read_text(encoding="utf-8").strip()
    assert info.value.exit_code == 2


def test_all_errors_reported_at_once() -> None:
    text = "sources:\n  - {name: a, kind: files, path: x, every: soon}\n  - {name: b, kind: feed, url: y, evry: 1h}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yaml", base=Path("/tmp"))
    messages = [str(p) for p in info.value.problems]
    assert any("sources[0].every" in m and "expected a duration" in m for m in messages)
    assert any("sources[1].evry" in m and "did you mean 'every'" in m for m in messages)


def test_example_config_loads_and_resolves_paths_against_its_folder() -> None:
    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "config.example.yaml")
    assert config.database == f"sqlite:///{root / 'monitor.db'}"
    seeds = config.sources[0]
    assert isinstance(seeds, FilesSource) and seeds.path == root / "seeds"
    assert isinstance(config.sources[1], FeedSource) and config.sources[1].enabled is False
    assert config.alerts[0].schedule == EverySchedule(every=timedelta(hours=1))


def test_defaults_when_only_sources_given(tmp_path: Path) -> None:
    config = parse_config("sources: []\n", str(tmp_path / "c.yaml"), base=tmp_path)
    assert config.database == f"sqlite:///{tmp_path / 'monitor.db'}"
    assert config.alerts == [] and config.smtp is None and config.server is None


def test_env_interpolation_in_values_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MON_TEST_PASSWORD", "s3cret")
    text = "sources: []\nsmtp:\n  password: ${MON_TEST_PASSWORD}\n  username: ${MON_TEST_USER:-alice}\n"
    config = parse_config(text, "c.yaml", base=tmp_path)
    assert config.smtp is not None
    assert config.smtp.password is not None and config.smtp.password.get_secret_value() == "s3cret"
    assert config.smtp.username == "alice"
    # The secret never shows in a repr that might reach a log.
    assert "s3cret" not in repr(config)


def test_interpolate_missing_without_default_names_the_variable() -> None:
    with pytest.raises(KeyError) as info:
        interpolate("${NOPE_NOT_SET}", {})
    assert info.value.args[0] == "NOPE_NOT_SET"
    assert interpolate("a${X:-}b", {}) == "ab"


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("1h30m", 5400),
                                               ("2d", 172800), (45, 45), ("1s", 1)])
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "10 minutes", "5x", "-1", True])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "no such file" in str(info.value)


def test_webhook_url_schemes_are_config_errors_naming_each_key_without_the_url() -> None:
    text = ("sources:\n  - {name: a, kind: files, path: x}\nalerts:\n  - name: hook\n    deliver:\n"
            "      - {kind: webhook, url: 'file:///etc/passwd'}\n"
            "      - {kind: webhook, url: 'gopher://user:CANARY@x/'}\n"
            "      - {kind: webhook, url: 'https://user:CANARY@hooks.example.org/x'}\n")
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yaml", base=Path("/tmp"))
    problems = [str(p) for p in info.value.problems]
    assert problems == [
        "c.yaml:6:30: alerts[0].deliver[0].url: expected an http:// or https:// URL, got the scheme 'file'",
        "c.yaml:7:30: alerts[0].deliver[1].url: expected an http:// or https:// URL, got the scheme 'gopher'",
    ]
    assert "CANARY" not in str(info.value)


@pytest.mark.parametrize("every", ["0s", "0", "0.5s"])
def test_an_interval_under_a_second_is_refused(every: str) -> None:
    text = f"sources:\n  - {{name: a, kind: files, path: x, every: {every}}}\nalerts:\n  - name: b\n" \
           f"    schedule: {{every: {every}}}\n    deliver: [{{kind: file, path: out}}]\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yaml", base=Path("/tmp"))
    messages = [str(p) for p in info.value.problems]
    assert any("sources[0].every: expected an interval of at least 1s" in m for m in messages)
    assert any("alerts[0].schedule.every: expected an interval of at least 1s" in m for m in messages)


def test_a_secret_in_a_wrongly_typed_field_is_not_echoed() -> None:
    text = ("sources:\n  - {name: a, kind: files, path: x}\nsmtp:\n  password: [Pa55-CANARY]\n  port: Pa55-CANARY2\n"
            "alerts:\n  - name: h\n    deliver:\n      - {kind: webhook, url: 'https://h.example.org/x', "
            "headers: {Authorization: [Bearer-CANARY3]}, secret: 12}\n")
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yaml", base=Path("/tmp"))
    shown = str(info.value)
    assert "smtp.password" in shown and "not shown" in shown
    assert "CANARY" not in shown.replace("Pa55-CANARY2", "")  # the port is no secret: shown as given
    assert "Pa55-CANARY2" in shown


_DELIVERY_SECRETS = """
sources: [{name: a, kind: files, path: x}]
database: sqlite:///${DB_FILE:-m.db}
smtp: {host: mail.example.org, username: desk, password: "${SMTP_PASSWORD}"}
alerts:
  - name: w
    match: {regions: [AZ]}
    deliver:
      - {kind: webhook, url: "${HOOK_URL}", secret: "${HOOK_KEY}"}
      - {kind: webhook, url: "https://hooks.example.org/${HOOK_PATH}"}
"""


def test_a_command_that_sends_nothing_needs_no_delivery_secret() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_DELIVERY_SECRETS, "c.yaml", base=Path("/tmp"), environ={})
    unset = {p.message.split()[2] for p in info.value.problems}
    assert unset == {"SMTP_PASSWORD", "HOOK_URL", "HOOK_KEY", "HOOK_PATH"}
    config = parse_config(_DELIVERY_SECRETS, "c.yaml", base=Path("/tmp"), environ={}, delivering=False)
    first, second = config.alerts[0].deliver
    assert first.url == "https://unset.invalid/" and second.url == "https://hooks.example.org/unset.invalid"
    assert config.smtp is not None and config.smtp.password is not None


def test_a_setting_other_than_delivery_still_needs_its_variable() -> None:
    text = "sources: [{name: a, kind: feed, url: 'https://example.org/feed?key=${FEED_KEY}'}]\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yaml", base=Path("/tmp"), environ={}, delivering=False)
    assert "environment variable FEED_KEY is not set" in str(info.value)
