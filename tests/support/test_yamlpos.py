"""The positions loader refuses what YAML would otherwise do silently or slowly: a key written twice,
aliases that expand past any real file, a document of absurd size."""

from __future__ import annotations

import itertools

import pytest

from monitor.support import yamlpos
from monitor.support.yamlpos import DuplicateKeyError, TooLargeError, load_located


def test_a_key_written_twice_names_both_lines() -> None:
    with pytest.raises(DuplicateKeyError) as info:
        load_located("a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert info.value.path == ("a", "b")
    assert info.value.problem_mark is not None and info.value.problem_mark.line + 1 == 4
    assert "first at line 2" in str(info.value.problem)


def test_shared_aliases_are_counted_as_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *a]\n"
    monkeypatch.setattr(yamlpos, "MAX_NODES", 150)
    with pytest.raises(TooLargeError):
        load_located(text)
    monkeypatch.setattr(yamlpos, "MAX_NODES", 250)
    assert load_located(text).data["c"][0][9] == [1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    levels = "abcdefghij"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]" for prev, cur in itertools.pairwise(levels)]
    # Ten levels expand to ten billion values: refused from the composed graph, never expanded.
    with pytest.raises(TooLargeError, match="aliases nested too deep"):
        load_located("\n".join(lines))


def test_an_absurdly_large_document_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlpos, "MAX_CHARS", 100)
    with pytest.raises(TooLargeError, match="characters"):
        load_located("a: " + "x" * 200)


def test_the_shipped_rules_load_within_the_limits() -> None:
    from monitor.support.resources import shipped_rules_dir

    for path in shipped_rules_dir().glob("*.yaml"):
        assert load_located(path.read_text(encoding="utf-8")).data


def test_the_rules_loader_refuses_an_alias_bomb_too() -> None:
    from monitor.support.yamlpos import load_lined

    levels = "abcdefghij"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]" for prev, cur in itertools.pairwise(levels)]
    with pytest.raises(TooLargeError, match="aliases nested too deep"):
        load_lined("\n".join(lines))
    assert load_lined("a: &x [1, 2]\nb: *x\n").data["b"] == [1, 2]
