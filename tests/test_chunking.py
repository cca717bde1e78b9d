"""chunk_text: headings-aware markdown chunks, bounded, overlapping on boundaries, fences kept whole."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmstore.errors import InvalidInput
from swarmstore.search.chunking import Chunk, chunk_text

WORDS = st.sampled_from(["retry", "backoff", "the", "cache", "TELEMETRY_BIND", "é", "x" * 40, "schema", "a", "node"])
LONG_WORD = st.integers(100, 700).map(lambda n: "z" * n)


@dataclass
class Doc:
    """A generated markdown text and what the test knows of it: headings and fences by position."""

    text: str = ""
    headings: list[tuple[int, int, str]] = field(default_factory=list)  # start, level, title
    fences: list[tuple[int, int]] = field(default_factory=list)  # first backtick, past the closing ones

    def add(self, s: str) -> None:
        self.text += s


@st.composite
def sentences(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.one_of(WORDS, LONG_WORD) if draw(st.booleans()) and draw(st.booleans()) else WORDS,
                          min_size=1, max_size=25))
    return " ".join(words) + draw(st.sampled_from([".", "!", "?", "", ":"]))


@st.composite
def markdown_docs(draw: st.DrawFn) -> Doc:
    doc = Doc()
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["heading", "para", "para", "list", "fence"]))
        if kind == "heading":
            level = draw(st.integers(1, 4))
            title = draw(st.sampled_from(["Install", "Usage", "Linux", "API", "Notes"]))
            doc.headings.append((len(doc.text), level, title))
            doc.add("#" * level + " " + title + "\n")
        elif kind == "para":
            doc.add(" ".join(draw(st.lists(sentences(), min_size=1, max_size=12))) + "\n")
        elif kind == "list":
            doc.add("".join(f"- {s}\n" for s in draw(st.lists(sentences(), min_size=1, max_size=6))))
        else:
            lines = draw(st.lists(st.one_of(st.just("# a comment, not a heading"), sentences()), max_size=30))
            start = len(doc.text)
            doc.add("```sh\n" + "".join(line + "\n" for line in lines) + "```")
            doc.fences.append((start, len(doc.text)))
            doc.add("\n")
        doc.add(draw(st.sampled_from(["", "\n", "\n\n", "  \n\n"])))
    return doc


def sizes() -> st.SearchStrategy[tuple[int, int]]:
    return st.integers(100, 700).flatmap(lambda m: st.tuples(st.just(m), st.integers(0, m // 2 - 1)))


def check_common(text: str, chunks: list[Chunk], max_chars: int, overlap: int) -> None:
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    covered = [False] * len(text)
    for c in chunks:
        assert c.text == text[c.start : c.end] and c.text == c.text.strip() and c.text
        assert len(c.text) <= max_chars
        for i in range(c.start, c.end):
            covered[i] = True
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(text))
    for a, b in itertools.pairwise(chunks):
        assert a.start < b.start and a.end < b.end
        assert a.end - b.start <= overlap  # overlap bounded (negative: a gap of white space)


def heading_path(doc: Doc, pos: int) -> str:
    """The heading path in force at ``pos`` (the last heading starting at or before it)."""
    stack: list[tuple[int, str]] = []
    for start, level, title in doc.headings:
        if start > pos:
            break
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
    return " > ".join(t for _, t in stack)


@settings(max_examples=300, deadline=None)
@given(markdown_docs(), sizes())
def test_markdown_chunks_cover_the_text_under_one_heading_path(doc: Doc, size: tuple[int, int]) -> None:
    max_chars, overlap = size
    chunks = chunk_text(doc.text, max_chars=max_chars, overlap=overlap)
    check_common(doc.text, chunks, max_chars, overlap)
    assert chunk_text(doc.text, max_chars=max_chars, overlap=overlap) == chunks
    for c in chunks:
        assert c.heading == heading_path(doc, c.end - 1)
        # a heading inside a chunk only follows headings: an empty section merged into its child
        inner = [s for s, _, _ in doc.headings if c.start < s < c.end]
        if inner:
            before = doc.text[c.start : inner[-1]]
            assert all(line.startswith("#") for line in before.splitlines() if line.strip()), c
        assert c.search_text == (f"{c.heading}\n{c.text}" if c.heading else c.text)
    for fs, fe in doc.fences:
        if fe - fs + 1 <= max_chars:
            for c in chunks:
                assert not fs < c.start < fe and not fs < c.end < fe, (c, doc.text[fs:fe])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(sentences(), st.sampled_from(["\n", "\n\n", "# not a heading\n"])), max_size=60).map(" ".join),
       sizes())
def test_plain_text_chunks_cover_the_text(text: str, size: tuple[int, int]) -> None:
    max_chars, overlap = size
    chunks = chunk_text(text, markdown=False, max_chars=max_chars, overlap=overlap)
    check_common(text, chunks, max_chars, overlap)
    assert all(c.heading == "" for c in chunks)
    assert (chunks == []) == (text.strip() == "")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000), sizes(), st.booleans())
def test_any_text_gives_valid_chunks(text: str, size: tuple[int, int], markdown: bool) -> None:
    check_common(text, chunk_text(text, markdown=markdown, max_chars=size[0], overlap=size[1]), *size)


USAGE = " ".join(
    f"Step {i} of the setup writes the configuration file and checks that the daemon answers on its port."
    for i in range(40)
)

README = f"""# swarmstore

Durable state for agent swarms: sessions, memory and tasks.

## Install

### Linux

```sh
# install the package with the search extra
pip install 'swarmstore[embed]'
## not a heading either
```

### macOS ###
Use the same command in a virtual environment.

## Usage

{USAGE}

~~~python
# ``` inside a tilde fence does not close it
store = swarmstore.open("swarm.db")
~~~
"""


def test_a_readme() -> None:
    chunks = chunk_text(README, max_chars=600, overlap=120)
    assert [c.heading for c in chunks[:3]] == [
        "swarmstore", "swarmstore > Install > Linux", "swarmstore > Install > macOS"]
    assert chunks[0].text == "# swarmstore\n\nDurable state for agent swarms: sessions, memory and tasks."
    linux = chunks[1]
    assert linux.text.startswith("## Install\n\n### Linux\n\n```sh") and linux.text.endswith("## not a heading either\n```")
    assert chunks[1].search_text.startswith("swarmstore > Install > Linux\n## Install")
    usage = [c for c in chunks if c.heading == "swarmstore > Usage"]
    assert len(usage) >= 6
    assert usage[0].text.startswith("## Usage")
    for a, b in itertools.pairwise(usage):
        assert 0 < a.end - b.start <= 120  # overlapping
        assert b.text.startswith("Step ")  # on a sentence
    assert all(c.text.endswith(".") for c in usage[:-1])
    assert usage[-1].text.endswith("~~~") and "# ``` inside" in usage[-1].text


def test_a_fence_longer_than_a_chunk_is_cut_at_lines() -> None:
    code = "\n".join(f"line_{i} = compute({i})  # step {i}" for i in range(100))
    text = f"# Code\n\n```python\n{code}\n```\n"
    chunks = chunk_text(text, max_chars=300, overlap=0)
    assert len(chunks) > 5
    assert all(c.heading == "Code" for c in chunks)
    assert all(c.text.startswith(("line_", "# Code", "```")) for c in chunks)
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))


def test_an_unclosed_fence_runs_to_the_end() -> None:
    chunks = chunk_text("# A\ntext\n```\n# B\ncode", max_chars=100, overlap=0)
    assert [(c.heading, c.text) for c in chunks] == [("A", "# A\ntext\n```\n# B\ncode")]


def test_a_token_longer_than_a_chunk_is_cut() -> None:
    text = "short words " + "y" * 250 + " end"
    chunks = chunk_text(text, markdown=False, max_chars=100, overlap=20)
    assert chunks[0].text == "short words"
    assert [len(c.text) for c in chunks] == [11, 100, 100, 54]  # no overlap can be taken on a boundary
    assert chunks[-1].text == "y" * 50 + " end"


def test_headings_and_their_levels() -> None:
    text = "intro\n# A\na\n## B ##\nb\n### C\nc\n## D\nd\n# E\n#notheading\n    # indented code\n"
    assert [(c.heading, c.text.splitlines()[0]) for c in chunk_text(text, max_chars=100, overlap=0)] == [
        ("", "intro"), ("A", "# A"), ("A > B", "## B ##"), ("A > B > C", "### C"), ("A > D", "## D"),
        ("E", "# E")]


def test_empty_and_white_space_give_no_chunk() -> None:
    assert chunk_text("") == [] and chunk_text(" \n\t\n ") == [] and chunk_text("\n\n", markdown=False) == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"max_chars": 99}, "max_chars"),
    ({"max_chars": True}, "max_chars"),
    ({"max_chars": 500.0}, "max_chars"),
    ({"overlap": -1}, "overlap"),
    ({"max_chars": 200, "overlap": 100}, "overlap"),
    ({"overlap": 1.5}, "overlap"),
])
def test_bad_parameters_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        chunk_text("some text", **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_text_must_be_a_string() -> None:
    with pytest.raises(InvalidInput) as err:
        chunk_text(b"bytes")  # type: ignore[arg-type]
    assert err.value.field == "text"
