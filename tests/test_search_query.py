"""Keyword queries from free text: safe on a real FTS5 table and a real PostgreSQL for any input; identifiers
rank first; stop words, duplicates and long inputs handled."""

from __future__ import annotations

from collections.abc import Iterator

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swarmstore.errors import InvalidInput
from swarmstore.search.query import MAX_TERM_CHARS, MAX_TERMS, KeywordQuery, keyword_query, word_tokens

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

DOCS = [
    "The exporter reads TELEMETRY_BIND at start and listens on that address.",
    "bind telemetry",
    "We back off exponentially between retries, up to five attempts.",
    "The cache is invalidated when the schema version changes.",
    "naïve café settings for the Straße deployment",
    "not a near miss: the AND gate or the OR gate",
]

# Query text built from the characters that mean something to FTS5 or tsquery, words and any unicode.
SYNTAX = st.sampled_from(['"', "'", "(", ")", "*", ":", "^", "-", "+", "&", "|", "!", "<->", "\\", "{", "}",
                          "NEAR", "NEAR(", "AND", "OR", "NOT", "body:", "_", ".", ",", " ", "\n", "\x00"])
QUERIES = st.one_of(
    st.text(),
    st.lists(st.one_of(SYNTAX, st.sampled_from(["bind", "telemetry", "the", "retry", "Café", "x" * 70]), st.text(max_size=3)),
             max_size=30).map("".join),
)


@pytest.fixture(scope="module")
def fts() -> Iterator[apsw.Connection]:
    conn = apsw.Connection(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61 remove_diacritics 2')")
    for doc in DOCS:
        conn.execute("INSERT INTO t(body) VALUES (?)", (doc,))
    yield conn
    conn.close()


def search(conn: apsw.Connection, text: str) -> list[str]:
    q = keyword_query(text)
    if q is None:
        return []
    return [row[0] for row in conn.execute("SELECT body FROM t WHERE t MATCH ? ORDER BY bm25(t)", (q.fts5,))]


@SETTINGS
@given(QUERIES)
def test_any_text_is_a_valid_match_expression(fts: apsw.Connection, text: str) -> None:
    q = keyword_query(text)
    if q is None:
        assert all(len(t) > MAX_TERM_CHARS for t in word_tokens(text))
        return
    list(fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (q.fts5,)))
    assert 0 < len(q.terms) <= MAX_TERMS
    assert len(set(q.terms)) == len(q.terms)
    assert keyword_query(text) == q  # deterministic


def test_identifier_finds_its_line_first(fts: apsw.Connection) -> None:
    # "bind telemetry" has both words and is shorter: without the phrase, BM25 puts it first.
    for text in ("TELEMETRY_BIND", "where is TELEMETRY_BIND read?", "telemetry_bind"):
        assert search(fts, text)[0] == DOCS[0], text
    q = keyword_query("TELEMETRY_BIND")
    assert q is not None and q.terms == ("telemetry", "bind")


def test_words_are_tokens_as_fts5_sees_them() -> None:
    assert word_tokens("TELEMETRY_BIND retry.max_attempts v1.2 Café") == [
        "telemetry", "bind", "retry", "max", "attempts", "v1", "2", "cafe"]


def test_stop_words_are_dropped_unless_nothing_else_is_left(fts: apsw.Connection) -> None:
    q = keyword_query("what did we decide about the retries?")
    assert q is not None and q.terms == ("decide", "retries")
    only = keyword_query("what is the")
    assert only is not None and only.terms == ("what", "is", "the")
    assert search(fts, "the") != []  # FTS5 still matches stop words when they are all there is


def test_no_usable_term_gives_none() -> None:
    for text in ("", "   ", "?!", "()*:^\"'", "___", "x" * (MAX_TERM_CHARS + 1)):
        assert keyword_query(text) is None, text


def test_operators_are_plain_words(fts: apsw.Connection) -> None:
    assert search(fts, "NOT NEAR") == [DOCS[5]]
    assert search(fts, 'AND OR "gate') == [DOCS[5]]
    assert search(fts, "body:exporter*") == [DOCS[0]]
    assert search(fts, "^schema -cache") == [DOCS[3]]


def test_case_and_diacritics_are_folded_and_deduplicated(fts: apsw.Connection) -> None:
    q = keyword_query("Retry retry RETRY naive NAÏVE")
    assert q is not None and q.terms == ("retry", "naive")
    assert search(fts, "NAIVE cafe strasse") == [DOCS[4]] or search(fts, "naive") == [DOCS[4]]
    assert search(fts, "retry") == [DOCS[2]]  # porter: retry ~ retries


def test_terms_are_capped_and_a_long_text_costs_no_more() -> None:
    many = " ".join(f"word{i}" for i in range(10_000))
    q = keyword_query(many)
    assert q is not None and len(q.terms) == MAX_TERMS
    assert q.terms[0] == "word0"
    ids = keyword_query(" ".join(f"a{i}_b{i}" for i in range(200)))
    assert ids is not None and ids.fts5.count('"') <= 2 * MAX_TERMS


def test_a_query_must_be_a_string() -> None:
    with pytest.raises(InvalidInput) as err:
        keyword_query(b"bytes")  # type: ignore[arg-type]
    assert err.value.field == "query"


def test_result_shape() -> None:
    q = keyword_query("TELEMETRY_BIND")
    assert q == KeywordQuery(
        fts5='"TELEMETRY BIND" OR "TELEMETRY" OR "BIND"',
        tsquery="('TELEMETRY' <-> 'BIND') | 'TELEMETRY' | 'BIND'",
        terms=("telemetry", "bind"),
    )


@SETTINGS
@given(text=QUERIES)
def test_any_text_is_a_valid_tsquery(pg_base_url: str, text: str) -> None:
    """Needs the PostgreSQL named by SWARMSTORE_TEST_POSTGRES (skipped without it, as the other PG tests)."""
    psycopg = pytest.importorskip("psycopg")
    q = keyword_query(text)
    if q is None:
        return
    with psycopg.connect(pg_base_url, autocommit=True) as conn:
        conn.execute("SELECT to_tsquery('english', %s)", (q.tsquery,)).fetchall()
        hit = conn.execute(
            "SELECT to_tsvector('english', 'TELEMETRY_BIND is read at start') @@ to_tsquery('english', %s)",
            (keyword_query("TELEMETRY_BIND").tsquery,),  # type: ignore[union-attr]
        ).fetchone()
        assert hit == (True,)
