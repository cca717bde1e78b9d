"""A user's free-text query as a keyword query: an SQLite FTS5 MATCH expression and a PostgreSQL tsquery.

Any input is safe: the query is cut into word tokens the way FTS5's ``unicode61`` tokenizer does (runs of
letters, digits and private-use characters; underscores and punctuation separate), so that no operator,
quote, column filter or prefix mark of either syntax survives, and every term is quoted. A run of tokens
written without spaces (``TELEMETRY_BIND``, ``retry.max_attempts``, ``v1.2``) is an identifier: it is kept
as a phrase too (``"TELEMETRY" "BIND"`` adjacent), so that the exact identifier ranks above a text that
has its words apart. English stop words are dropped unless that leaves nothing; terms are deduplicated
(case and diacritics aside) and capped at :data:`MAX_TERMS`; the terms and phrases are ORed, and BM25 /
``ts_rank`` rank by how many are covered. Tokens longer than :data:`MAX_TERM_CHARS` are dropped (no word is
that long: such a token is noise, not a word).

The stemming is the engines' own (FTS5 ``porter``, PostgreSQL ``english``). PostgreSQL also drops its own
stop words, so a query made only of stop words finds nothing there, where FTS5 still matches them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from swarmstore.errors import InvalidInput

MAX_TERMS = 32
MAX_TERM_CHARS = 64
MAX_PHRASE_TOKENS = 8

_STOP_WORDS = """a about above after again all also am an and any are as at be been before being below between both but
    by can could did do does doing done down during each either else ever few for from further had has have
    having he her here hers him his how i if in into is it its itself just me more most my no nor not now of
    off on once only or other our ours out over own same she should so some such than that the their theirs
    them then there these they this those through to too under until up upon us very was we were what when
    where which while who whom whose why will with would yet you your yours"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

# A word: letters and digits (str.isalnum, as \w without "_") or private-use characters, as unicode61.
_TOKEN = re.compile(r"(?:[^\W_]|[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd])+")
# Where an identifier ends: white space, brackets, quotes and sentence punctuation.
_GROUP = re.compile(r"[^\s()\[\]{}<>\"'`,;!?]+")


@dataclass(frozen=True, slots=True)
class KeywordQuery:
    """A keyword query: ``fts5`` for ``MATCH``, ``tsquery`` for ``to_tsquery('english', ...)``, and its
    content ``terms`` (folded: lower case, no diacritics), in query order."""

    fts5: str
    tsquery: str
    terms: tuple[str, ...]


def fold(token: str) -> str:
    """A token's comparison form: lower case, diacritics removed (as FTS5 ``remove_diacritics 2``)."""
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def word_tokens(text: str) -> list[str]:
    """The folded word tokens of ``text``, as the keyword index sees them (before stemming)."""
    return [fold(m.group()) for m in _TOKEN.finditer(unicodedata.normalize("NFC", text))]


def keyword_query(text: str) -> KeywordQuery | None:
    """The keyword query for ``text``, or ``None`` when it has no usable word (then there is no keyword hit)."""
    if not isinstance(text, str):
        raise InvalidInput("query", f"must be a string, not {type(text).__name__}")
    text = unicodedata.normalize("NFC", text)
    words: list[str] = []  # the tokens as typed, in order
    phrases: list[tuple[str, ...]] = []
    distinct: set[str] = set()
    for group in _GROUP.finditer(text):
        tokens = [t for t in _TOKEN.findall(group.group()) if len(t) <= MAX_TERM_CHARS]
        words.extend(tokens)
        distinct.update(f for f in map(fold, tokens) if f not in STOP_WORDS)
        if 1 < len(tokens) <= MAX_PHRASE_TOKENS:
            phrases.append(tuple(tokens))
        if len(distinct) >= MAX_TERMS and len(phrases) >= MAX_TERMS // 4:
            break  # enough to fill the query: a long text costs no more
    if not words:
        return None
    content = [w for w in words if fold(w) not in STOP_WORDS] or words
    terms: dict[str, str] = {}  # folded -> as typed
    for word in content:
        terms.setdefault(fold(word), word)
    seen: set[tuple[str, ...]] = set()
    unique_phrases: list[tuple[str, ...]] = []
    for phrase in phrases:
        key = tuple(fold(t) for t in phrase)
        if key not in seen:
            seen.add(key)
            unique_phrases.append(phrase)
    unique_phrases = unique_phrases[: MAX_TERMS // 4]
    chosen = list(terms.items())[: MAX_TERMS - len(unique_phrases)]
    fts5 = ['"' + " ".join(p) + '"' for p in unique_phrases]
    fts5 += [f'"{word}"' for _, word in chosen]
    tsq = ["(" + " <-> ".join(f"'{t}'" for t in p) + ")" for p in unique_phrases]
    tsq += [f"'{word}'" for _, word in chosen]
    return KeywordQuery(" OR ".join(fts5), " | ".join(tsq), tuple(folded for folded, _ in chosen))
