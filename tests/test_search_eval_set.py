"""The labelled search evaluation set (swarmstore/bench/search_eval.jsonl) keeps its own rules.

Paraphrase queries must share no content word with their relevant passages, so that the keyword
retriever cannot answer them; keyword queries must share at least one. The word rule is strict on
purpose: it strips common suffixes (s, es, ed, ing, ies/ied -> y, with and without a restored e) and
also counts a word as shared when one stem (4+ characters) is a prefix of the other, so "config" and
"configuration", "cache" and "caching", "retry" and "retries" all count as the same word.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

_STOP_TEXT = """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each either else ever every few for from
    further had has have having he her here hers him his how i if in into is it its itself just let me
    more most my neither no nor not now of off on once only or other ought our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up upon us very via was we were what whatever when where whether
    which while who whom whose why will with within without would yet you your yours
    must may might shall
    t s d ll re ve m isn aren wasn weren don doesn didn can't won shouldn couldn
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

NAMESPACE = re.compile(r"[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)*")
TYPES = frozenset({"semantic", "episodic", "procedural"})


def _variants(word: str) -> set[str]:
    """The word and every plausible stem of it under simple suffix stripping."""
    out = {word}
    if word.endswith(("ies", "ied")) and len(word) > 4:
        out.add(word[:-3] + "y")
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            stem = word[: -len(suffix)]
            out.add(stem)
            out.add(stem + "e")
            if len(stem) >= 4 and stem[-1] == stem[-2]:  # running -> run, stopped -> stop
                out.add(stem[:-1])
    return out


def content_words(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens of text that are not stop words (single characters dropped)."""
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 1 and w not in STOP_WORDS]


def _same_word(a: str, b: str) -> bool:
    va, vb = _variants(a), _variants(b)
    if va & vb:
        return True
    for x in va:
        for y in vb:
            short, long_ = (x, y) if len(x) <= len(y) else (y, x)
            if len(short) >= 4 and long_.startswith(short):
                return True
    return False


def conflicts(query: str, passage: str) -> list[tuple[str, str]]:
    """The (query word, passage word) pairs that count as one shared content word."""
    pw = set(content_words(passage))
    return [(q, p) for q in dict.fromkeys(content_words(query)) for p in pw if _same_word(q, p)]


def _load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    raw = resources.files("swarmstore.bench").joinpath("search_eval.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    passages = [r for r in rows if r.get("kind") != "query"]
    queries = [r for r in rows if r.get("kind") == "query"]
    return passages, queries


PASSAGES, QUERIES = _load()
BY_ID = {p["id"]: p for p in PASSAGES}


def test_the_word_rule_is_strict() -> None:
    assert conflicts("what about retries?", "we retry with backoff") == [("retries", "retry")]
    assert conflicts("caching policy", "the cache is warm")
    assert conflicts("configured", "configuration keys")
    assert conflicts("stopped", "stop the node")
    assert conflicts("TELEMETRY_BIND", "set telemetry host")
    assert not conflicts("what did we decide about repeating?", "we back off exponentially")
    assert not conflicts("how is it so?", "what was it, then?")  # stop words only


def test_ids_are_unique_and_well_formed() -> None:
    ids = [r["id"] for r in PASSAGES + QUERIES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"p\d{3}", p["id"]) for p in PASSAGES)
    assert all(re.fullmatch(r"q\d{3}", q["id"]) for q in QUERIES)


def test_counts_are_in_range() -> None:
    assert 250 <= len(PASSAGES) <= 350
    modes = [q["mode"] for q in QUERIES]
    assert set(modes) == {"paraphrase", "keyword"}
    assert 90 <= modes.count("paraphrase") <= 120
    assert 90 <= modes.count("keyword") <= 120


def test_passages_are_valid_swarmstore_memories() -> None:
    namespaces = {p["namespace"] for p in PASSAGES}
    assert 10 <= len(namespaces) <= 16
    for p in PASSAGES:
        assert set(p) == {"id", "namespace", "type", "text"}
        assert NAMESPACE.fullmatch(p["namespace"]), p
        assert p["type"] in TYPES, p
        assert 15 <= len(p["text"].split()) <= 60, p["id"]
    assert {p["type"] for p in PASSAGES} == TYPES
    assert len({p["text"] for p in PASSAGES}) == len(PASSAGES)


def test_every_relevant_id_exists() -> None:
    for q in QUERIES:
        assert set(q) == {"kind", "id", "mode", "text", "relevant"}
        assert 1 <= len(q["relevant"]) <= 2, q
        assert len(set(q["relevant"])) == len(q["relevant"])
        assert all(r in BY_ID for r in q["relevant"]), q


@pytest.mark.parametrize("q", [q for q in QUERIES if q["mode"] == "paraphrase"], ids=lambda q: q["id"])
def test_paraphrase_shares_no_content_word(q: dict[str, Any]) -> None:
    assert content_words(q["text"])
    for r in q["relevant"]:
        assert conflicts(q["text"], BY_ID[r]["text"]) == [], (q["id"], r)


@pytest.mark.parametrize("q", [q for q in QUERIES if q["mode"] == "keyword"], ids=lambda q: q["id"])
def test_keyword_query_shares_a_word(q: dict[str, Any]) -> None:
    assert any(conflicts(q["text"], BY_ID[r]["text"]) for r in q["relevant"]), q["id"]
