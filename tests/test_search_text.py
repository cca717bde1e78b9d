"""text_of: the searchable text of a memory's JSON value; total, bounded, deterministic."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from swarmstore.search.text import MAX_TEXT_CHARS, text_of

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_any_json_value_gives_bounded_deterministic_text(value: Any) -> None:
    text = text_of(value)
    assert isinstance(text, str)
    assert len(text) <= MAX_TEXT_CHARS
    assert text_of(value) == text


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8).filter(str.strip), st.text(min_size=1).filter(str.strip),
                       min_size=1, max_size=5))
def test_every_key_and_string_of_a_small_object_is_in_its_text(value: dict[str, str]) -> None:
    text = text_of(value)
    for key, leaf in value.items():
        assert f"{key}: {leaf}" in text


def test_a_string_is_its_own_text() -> None:
    assert text_of("we back off exponentially") == "we back off exponentially"


def test_an_object_gives_key_value_lines_in_its_order() -> None:
    value = {
        "decision": "we retry with backoff",
        "tags": ["db", "retry", 3],
        "attempts": 5,
        "ratio": 2.5,
        "final": True,
        "owner": None,
        "empty": "",
        "retry": {"policy": {"base": {"delay": "2s"}}},
        "steps": [{"name": "plan"}, {"name": "build"}],
    }
    assert text_of(value) == "\n".join([
        "decision: we retry with backoff",
        "tags: db, retry, 3",
        "attempts: 5",
        "ratio: 2.5",
        "final: true",
        "policy.base.delay: 2s",
        "steps.name: plan",
        "steps.name: build",
    ])


def test_scalars_and_empty_values() -> None:
    assert text_of(None) == ""
    assert text_of(False) == "false"
    assert text_of(-7) == "-7"
    assert text_of(1e20) == "1e+20"
    assert text_of([]) == "" and text_of({}) == "" and text_of([None, ""]) == ""
    assert text_of(["a", ["b", "c"]]) == "a\nb, c"


def test_any_depth_without_recursion() -> None:
    deep: Any = "bottom"
    for i in range(50_000):
        deep = [deep] if i % 2 else {"k": deep}
    assert text_of(deep) == "k.k.k: bottom"


def test_a_long_value_is_cut_on_a_word_boundary() -> None:
    text = text_of("word " * 20_000)
    assert len(text) <= MAX_TEXT_CHARS and text.endswith("word")
    many = text_of({f"key{i}": "value " * 10 for i in range(100_000)})
    assert len(many) <= MAX_TEXT_CHARS and many.endswith("value")
    assert len(text_of(["x" * 100_000])) == MAX_TEXT_CHARS  # one token: cut where the cap falls


def test_foreign_objects_do_not_raise() -> None:
    class Bad:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert text_of({"a": Bad(), 1: "one", (2, 3): {4}}) == "1: one\n(2, 3): {4}"


def test_the_walk_stops_at_the_cap() -> None:
    visited: list[int] = []

    class Counting(dict[str, str]):
        def items(self) -> Any:
            visited.append(1)
            return super().items()

    text_of([Counting(note="a line of about sixty characters, give or take a few") for _ in range(10_000)])
    assert len(visited) < MAX_TEXT_CHARS // 50  # a large value costs what the cap lets in, not its size
