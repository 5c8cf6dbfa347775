"""Extraction: page furniture cut, repeated captions collapsed, HTML made plain text."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.sources.extract import clean_text, extract, html_to_text, load_boilerplate
from monitor.sources.files import read_article
from monitor.support.userregex import RE2_SYNTAX

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def boilerplate():  # type: ignore[no-untyped-def]
    return load_boilerplate()


def test_seed_000_loses_everything_from_most_popular_on(boilerplate) -> None:  # type: ignore[no-untyped-def]
    title, body = read_article(SEEDS / "000_16083772c90dda59.txt")
    text = clean_text(body, boilerplate)
    assert title.startswith("US embassy in Azerbaijan warns")
    assert "death toll was nearing 5,000" in text
    for furniture in ("Most Popular", "If you’d like to comment", "Times of Israel Community", "Confirm Mail"):
        assert furniture not in text
    # The photo caption printed twice is kept once.
    assert text.count("A woman walks past a building") == 1


def test_seed_002_loses_everything_from_read_also_on(boilerplate) -> None:  # type: ignore[no-untyped-def]
    _, body = read_article(SEEDS / "002_9a1e7f0ded39d068.txt")
    text = clean_text(body, boilerplate)
    assert text.rstrip().endswith("representatives of Armenians living in the Garabagh region.")
    for furniture in ("Read also", "Latest news", "Subscribe to our Telegram channel", "Tusk: Poland", "Navalny"):
        assert furniture not in text


@pytest.mark.parametrize("heading", ["More from BBC News", "More in Middle East", "Don't miss", "Read next:",
                                     "Around the web"])
def test_section_headings_of_other_sites_start_the_furniture(boilerplate, heading: str) -> None:  # type: ignore[no-untyped-def]
    body = ("Gunmen attacked a convoy near Gao on Monday.\n\nThe army said two soldiers were hurt.\n\n"
            "Officials in Bamako said more troops would be sent.\n\n"
            f"{heading}\n\nFloods hit Jakarta\n\nElection results in Kenya")
    text = clean_text(body, boilerplate)
    assert "more troops would be sent" in text and "Jakarta" not in text and "Kenya" not in text


def test_a_sentence_starting_like_a_heading_is_kept(boilerplate) -> None:  # type: ignore[no-untyped-def]
    body = "One.\n\nTwo.\n\nThree.\n\nMore from the aid groups is expected on Tuesday.\n\nFour."
    assert "aid groups" in clean_text(body, boilerplate)


def test_marker_at_the_top_does_not_empty_the_article(boilerplate) -> None:  # type: ignore[no-untyped-def]
    text = clean_text("Related\nGunmen attacked a convoy.\nTwo were killed.\nOfficials said so.", boilerplate)
    assert "Gunmen attacked a convoy." in text


def test_html_to_text_drops_sidebars_and_footers() -> None:
    html = ("<html><body><nav>World | Africa</nav><article><h1>Clashes in Gao</h1><p>Gunmen attacked a convoy.</p>"
            "<aside><h2>Elsewhere</h2><ul><li>Floods in Jakarta</li></ul></aside></article>"
            "<footer>Kenya bureau &copy; News Ltd</footer></body></html>")
    text = html_to_text(html)
    assert "Gunmen attacked a convoy." in text and "Clashes in Gao" in text
    assert "Jakarta" not in text and "Kenya" not in text and "Africa" not in text


def test_html_to_text_drops_scripts_and_keeps_blocks() -> None:
    html = "<div><p>First <b>para</b>.</p><script>alert(1)</script><p>Second&nbsp;para.</p><ul><li>a</li></ul></div>"
    text = clean_text(html_to_text(html))
    assert text == "First para.\n\nSecond para.\n\na"


def test_extract_plain_text_normalises_whitespace() -> None:
    assert extract("  a   b \r\n\r\n\r\n\r\nc  ", is_html=False, boilerplate=None) == "a b\n\nc"


def test_user_boilerplate_extends_and_bad_regex_is_located(tmp_path: Path) -> None:
    (tmp_path / "boilerplate.yaml").write_text("cut_from:\n  phrases: [from our partners]\n", encoding="utf-8")
    bp = load_boilerplate([tmp_path])
    text = clean_text("Story line one.\nTwo.\nThree.\nFrom our partners\nAd text", bp)
    assert "Ad text" not in text and "Three." in text
    (tmp_path / "boilerplate.yaml").write_text("drop_lines:\n  regexes: ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_boilerplate([tmp_path])
    assert "boilerplate.yaml" in str(info.value) and "bad regex" in str(info.value)


def test_boilerplate_yaml_and_shape_errors_are_located(tmp_path: Path) -> None:
    file = tmp_path / "boilerplate.yaml"
    file.write_text(
        "min_lines_before: lots\n"          # line 1: not a number
        "cut_from: [read more]\n"           # line 2: not a mapping
        "drop_lines:\n"
        "  phrases: [advertisement, 12]\n"  # line 4: 12 is no text
        "  regexes:\n"
        "    - 'ok.*'\n"
        "    - '(unclosed'\n", encoding="utf-8")  # line 7: bad regex
    with pytest.raises(RuleError) as info:
        load_boilerplate([tmp_path])
    problems = [str(p) for p in info.value.problems]
    assert problems == [
        f"{file}:1: min_lines_before: expected a whole number, got 'lots'",
        f"{file}:2: cut_from: expected a mapping with phrases and regexes",
        f"{file}:4: drop_lines.phrases[1]: expected text, got 12",
        f"{file}:7: drop_lines.regexes[1]: bad regex '(unclosed': missing ): (unclosed; {RE2_SYNTAX}",
    ]
    file.write_text("drop_lines:\n  phrases: [unclosed\n", encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_boilerplate([tmp_path])
    [problem] = info.value.problems
    assert problem.line == 3 and "not valid YAML" in problem.message
