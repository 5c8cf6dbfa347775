"""User regexes run by RE2: linear whatever the pattern, Python's meaning of the classes kept,
what RE2 cannot run refused at compile time with what is expected."""

from __future__ import annotations

import pickle

import pytest

from monitor.support.userregex import RE2_SYNTAX, UserRegexError, compile_alternatives, compile_user_regex


def test_a_catastrophic_pattern_answers() -> None:
    # With Python's re this search backtracks 2**40 times; RE2 answers at once.
    pattern = compile_user_regex("(a+)+$")
    assert pattern.search("a" * 40 + "!") is None
    found = pattern.search("b" + "a" * 40)
    assert found is not None and (found.start(), found.end()) == (1, 41)
    assert compile_user_regex("(x+x+)+y").search("x" * 5000) is None


@pytest.mark.parametrize(("pattern", "text", "spans"), [
    (r"\w+", "Kyïv, Ürümqi 42 ٤٢", [(0, 4), (6, 12), (13, 15), (16, 18)]),
    (r"\d+", "٤٢ and 42", [(0, 2), (7, 9)]),
    (r"a\sb", "a\u00a0b a\tb a_b", [(0, 3), (4, 7)]),
    (r"[\w-]+", "Saint-Étienne!", [(0, 13)]),
    (r"\W", "é!", [(1, 2)]),
    (r"\u00e9t\u00e9", "un été", [(3, 6)]),
    (r"end\Z", "end end", [(4, 7)]),
    (r"\Q(a+)\E\w", "x(a+)é", [(1, 6)]),
])
def test_python_meaning_of_classes_and_escapes(pattern: str, text: str, spans: list[tuple[int, int]]) -> None:
    compiled = compile_user_regex(pattern)
    assert [(m.start(), m.end()) for m in compiled.finditer(text)] == spans


def test_case_blind_across_scripts() -> None:
    assert compile_user_regex("grève générale", ignore_case=True).search("GRÈVE GÉNÉRALE à Paris") is not None
    assert compile_user_regex("grève").search("GRÈVE") is None


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"(?<=gun)men", "invalid perl operator: (?<="),
    (r"(?!peace)talks", "invalid perl operator: (?!"),
    (r"(bomb)\s+\1", "invalid escape sequence: \\1"),
    (r"(?P<w>\w+) (?P=w)", "invalid perl operator: (?P"),
    (r"(unclosed", "missing ): (unclosed"),
    ("trailing\\", "trailing \\"),
    (r"[\W\d]", "\\W inside [...]"),
])
def test_what_re2_cannot_run_is_refused_saying_what_is_expected(pattern: str, reason: str) -> None:
    with pytest.raises(UserRegexError) as info:
        compile_user_regex(pattern)
    assert reason in str(info.value)
    if not reason.startswith("\\W"):
        assert str(info.value).endswith(RE2_SYNTAX)
    assert "no backreferences" in RE2_SYNTAX and "no lookaround" in RE2_SYNTAX


def test_alternatives_say_which_matched_and_keep_to_their_own_group() -> None:
    # An unterminated \Q is literal to the end of its own pattern, not of the ones after it.
    combined = compile_alternatives([r"\Qa.b", r"caf\w"], names=["r0", "r1"], ignore_case=True)
    assert [(m.lastgroup, m.start(), m.end()) for m in combined.finditer("a.b CAFÉ axb")] == [
        ("r0", 0, 3), ("r1", 4, 8)]
    plain = compile_alternatives(["^more from", "^follow us"])
    assert plain.match("follow us on x") is not None and plain.match("see more from") is None


def test_a_compiled_pattern_survives_the_rules_cache() -> None:
    again = pickle.loads(pickle.dumps(compile_user_regex(r"\w+ée", ignore_case=True)))
    found = again.search("une ANNÉE")
    assert found is not None and (found.start(), found.end()) == (4, 9)
