"""Splitting a text into search chunks: headings-aware for markdown, bounded in size, overlapping.

A markdown text is cut into sections at its ATX headings (``#`` to ``######``; never inside a fenced code
block opened by ``````` or ``~~~``). A section runs from its heading line to the next heading, so the heading
line is part of its first chunk; the text before the first heading is a section without heading. A section
whose body is empty (a heading followed directly by a deeper one, as in ``# Install`` / ``## Linux``) is
merged into the next one, whose heading path names it anyway; other sections, however small, stay on their
own: every chunk lies under one heading path. Setext headings (underlined ones) are not recognised.

A section longer than ``max_chars`` is cut at the best boundary past half the size: a paragraph (blank line,
fence start or end), then a sentence end, then a line start, then a word; mid-token only when a single token
(or a fence longer than ``max_chars``) leaves no other choice. A fenced code block that fits in ``max_chars``
is never cut. Each chunk after the first of a section starts up to ``overlap`` characters before the
previous one ended, on a boundary (a sentence if one gives at least a third of the overlap, else a word).

``Chunk.text`` is exactly ``text[start:end]``, trimmed of whitespace at both ends. Index
``Chunk.search_text`` instead: the heading path on a line of its own, then the text, so that a section's
later chunks (and the first, which holds only its own heading line) carry their headings too.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from swarmstore.errors import InvalidInput

MIN_MAX_CHARS = 100
HEADING_SEPARATOR = " > "


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of a text: ``text == source[start:end]``, under the markdown heading path ``heading``."""

    seq: int
    heading: str
    text: str
    start: int
    end: int

    @property
    def search_text(self) -> str:
        """What to index and embed: the heading path, a newline, then the text (just the text without one)."""
        return search_text(self.heading, self.text)


def search_text(heading: str, text: str) -> str:
    """What search indexes and embeds of a chunk: its heading path, a newline, then its text."""
    return f"{heading}\n{text}" if heading else text


# Boundary kinds, best first. Positions are where the next chunk may start / the current one may end.
_PARAGRAPH = re.compile(r"\n(?:[ \t\r\f\v]*\n)+")
_SENTENCE = re.compile(r"[.!?][\"')\]]*\s+(?=\S)")
_LINE = re.compile(r"\n(?=[^\n])")
_WORD = re.compile(r"\s+(?=\S)")
_NON_SPACE = re.compile(r"\S")

_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*))?")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")


def chunk_text(text: str, *, markdown: bool = True, max_chars: int = 1200, overlap: int = 150) -> list[Chunk]:
    """Split ``text`` into ordered chunks of at most ``max_chars`` characters (see the module docstring).

    Raises :class:`InvalidInput` unless ``max_chars >= 100`` and ``0 <= overlap < max_chars // 2``.
    """
    if not isinstance(text, str):
        raise InvalidInput("text", f"must be a string, not {type(text).__name__}")
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < MIN_MAX_CHARS:
        raise InvalidInput("max_chars", f"must be an integer >= {MIN_MAX_CHARS}, got {max_chars!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < max_chars // 2:
        raise InvalidInput("overlap", f"must be an integer >= 0 and < max_chars // 2 ({max_chars // 2}), got {overlap!r}")
    if not text.strip():
        return []
    if markdown:
        sections, fences = _markdown_sections(text)
    else:
        sections, fences = [(0, len(text), "")], []
    splitter = _Splitter(text, fences, max_chars, overlap)
    chunks: list[Chunk] = []
    for start, end, heading in sections:
        for a, b in splitter.split(start, end):
            a, b = _trim(text, a, b)
            if a < b:
                chunks.append(Chunk(len(chunks), heading, text[a:b], a, b))
    return chunks


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, ``end`` past its newline."""
    out: list[tuple[int, int]] = []
    pos, n = 0, len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl + 1
        out.append((pos, end))
        pos = end
    return out


def _markdown_sections(text: str) -> tuple[list[tuple[int, int, str]], list[tuple[int, int]]]:
    """The sections (start, end, heading path) and the fenced code blocks (start, end) of a markdown text."""
    fences: list[tuple[int, int]] = []
    headings: list[tuple[int, int, int, str]] = []  # line start, line end, level, title
    fence: tuple[str, int, int] | None = None  # char, length, start
    for start, end in _lines(text):
        line = text[start:end].rstrip("\r\n")
        if fence is not None:
            char, length, fence_start = fence
            stripped = line.lstrip(" ")
            if len(line) - len(stripped) <= 3 and stripped.rstrip(" \t") == char * len(stripped.rstrip(" \t")) \
                    and len(stripped.rstrip(" \t")) >= length:
                fences.append((fence_start, end))
                fence = None
            continue
        m = _FENCE.fullmatch(line)
        if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
            fence = (m.group(1)[0], len(m.group(1)), start)
            continue
        m = _HEADING.fullmatch(line)
        if m:
            title = _CLOSING_HASHES.sub("", (m.group(2) or "").strip()).strip()
            headings.append((start, end, len(m.group(1)), title))
    if fence is not None:  # an unclosed fence runs to the end
        fences.append((fence[2], len(text)))

    # (start, end, level, path, body is empty); level 0 for the text before the first heading
    raw: list[tuple[int, int, int, str, bool]] = []
    first = headings[0][0] if headings else len(text)
    if first > 0:
        raw.append((0, first, 0, "", not text[:first].strip()))
    stack: list[tuple[int, str]] = []
    for i, (start, line_end, level, title) in enumerate(headings):
        end = headings[i + 1][0] if i + 1 < len(headings) else len(text)
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        path = HEADING_SEPARATOR.join(t for _, t in stack if t)
        raw.append((start, end, level, path, not text[line_end:end].strip()))

    sections: list[tuple[int, int, str]] = []
    carry: int | None = None  # start of an empty-bodied section merged into its child
    for i, (start, end, level, path, empty) in enumerate(raw):
        begin = start if carry is None else carry
        if empty and level > 0 and i + 1 < len(raw) and raw[i + 1][2] > level:
            carry = begin
            continue
        carry = None
        sections.append((begin, end, path))
    return sections, fences


class _Splitter:
    """Cuts a span of ``text`` into overlapping pieces at the best boundaries."""

    def __init__(self, text: str, fences: Sequence[tuple[int, int]], max_chars: int, overlap: int) -> None:
        self.text = text
        self.max_chars = max_chars
        self.overlap = overlap
        # A fence that fits in one chunk is never cut: no boundary strictly inside it.
        kept = [(a, b) for a, b in fences if b - a <= max_chars]
        kept_starts = [a for a, _ in kept]

        def allowed(pos: int) -> bool:
            i = bisect.bisect_right(kept_starts, pos) - 1
            return i < 0 or not (kept[i][0] < pos < kept[i][1])

        paragraph = {m.end() for m in _PARAGRAPH.finditer(text)}
        for a, b in fences:
            paragraph.update((a, b))
        kinds = [
            paragraph,
            {m.end() for m in _SENTENCE.finditer(text)},
            {m.end() for m in _LINE.finditer(text)},
            {m.end() for m in _WORD.finditer(text)},
        ]
        self.levels = [sorted(p for p in kind if allowed(p)) for kind in kinds]
        self.any = sorted(set().union(*self.levels))

    def split(self, start: int, end: int) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        end = start + len(self.text[start:end].rstrip())
        # ``low``: the first non-space character the next chunk must take in (its end is past it)
        cur = low = self._skip_space(start, end)
        while cur < end:
            stop = self._end(cur, low, end)
            if stop is None:
                if cur < low:  # the overlap left no boundary in reach: start where the last chunk ended
                    cur = low
                    continue
                stop = min(end, cur + self.max_chars)  # one token (or an oversized fence) longer than a chunk
            spans.append((cur, stop))
            if stop >= end:
                break
            first = self._skip_space(cur, stop)  # the next chunk must start past this one's first character
            low = self._skip_space(stop, end)
            cur = self._overlap_start(first, stop)
            if cur >= stop:
                cur = low
        return spans

    def _skip_space(self, pos: int, end: int) -> int:
        m = _NON_SPACE.search(self.text, pos, end)
        return end if m is None else m.start()

    def _end(self, cur: int, low: int, end: int) -> int | None:
        """Where a chunk starting at ``cur`` should end: past ``low``, at most ``max_chars`` on."""
        if end - cur <= self.max_chars:
            return end
        limit = cur + self.max_chars
        half = max(low, cur + self.max_chars // 2)
        for positions in self.levels:
            best = _last_in(positions, half, limit)
            if best is not None:
                return best
        return _last_in(self.any, low, limit)

    def _overlap_start(self, prev_first: int, prev_end: int) -> int:
        if self.overlap == 0:
            return prev_end
        low = max(prev_first, prev_end - self.overlap - 1)  # candidates in (low, prev_end)
        good = prev_end - self.overlap // 3
        for positions in self.levels[:3]:
            first = _first_in(positions, low, prev_end - 1)
            if first is not None and first <= good:
                return first
        first = _first_in(self.any, low, prev_end - 1)
        return prev_end if first is None else first


def _last_in(positions: list[int], low: int, high: int) -> int | None:
    """The largest position p with low < p <= high."""
    i = bisect.bisect_right(positions, high) - 1
    return positions[i] if i >= 0 and positions[i] > low else None


def _first_in(positions: list[int], low: int, high: int) -> int | None:
    """The smallest position p with low < p <= high."""
    i = bisect.bisect_right(positions, low)
    return positions[i] if i < len(positions) and positions[i] <= high else None
