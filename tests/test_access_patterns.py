"""Access rules (``swarmstore.access``): no rule ever admits a name outside it.

Properties over generated rules and names built from tricky segments (prefixes of each other,
dots, dashes, ``..``), then the same rules as SQL inside real queries on every engine, compared
with the Python answer name by name.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swarmstore
from swarmstore.access import Grant, check_bind, grant, parse_pattern, session_grant
from swarmstore.errors import InvalidInput
from swarmstore.namespaces import covers

SEGMENTS = ["a", "a2", "ab", "b", "..", ".", "-", "a.b", "A"]
segment = st.sampled_from(SEGMENTS)
namespace = st.lists(segment, min_size=1, max_size=4).map(":".join)
rule = st.lists(st.one_of(segment, st.just("*")), min_size=1, max_size=4).map(":".join)


def reference(rule_text: str, name: str) -> bool:
    """What a rule means, written independently: a regular expression built segment by segment."""
    parts = rule_text.split(":")
    tail = parts[-1] == "*"
    body = ":".join("[^:]+" if p == "*" else re.escape(p) for p in (parts[:-1] if tail else parts))
    if tail:
        if not body:
            return True  # ('*' alone: every name)
        body += ":.*"  # (a last '*': whatever follows the ':')
    return re.fullmatch(body, name) is not None


@given(rule, namespace)
def test_a_rule_admits_exactly_what_it_says(rule_text: str, name: str) -> None:
    p = parse_pattern(rule_text, {}, "rule")
    assert p.admits(name) == reference(rule_text, name)


@given(rule, namespace)
def test_no_rule_admits_a_name_outside_its_literal_segments(rule_text: str, name: str) -> None:
    p = parse_pattern(rule_text, {}, "rule")
    if p.admits(name):
        parts = name.split(":")
        for i, seg in enumerate(p.head):
            assert seg is None or parts[i] == seg  # segment-exact: 'a' never admits 'a2' or 'ab'
        if p.literal and not p.exact:
            assert name.startswith(p.literal + ":")
        if p.exact:
            assert name == rule_text


@given(rule, namespace)
def test_the_regex_given_to_the_engines_agrees(rule_text: str, name: str) -> None:
    p = parse_pattern(rule_text, {}, "rule")
    rx = p.regex()
    if rx is not None:
        lit = p.literal
        in_span = not lit or name.startswith(lit + ":")
        assert (in_span and re.search(rx, name) is not None) == p.admits(name)


@given(st.lists(rule, max_size=4), st.one_of(st.just(""), namespace), st.lists(namespace, max_size=30))
def test_ranges_hold_exactly_the_admitted_names_under_a_prefix(rules: list[str], prefix: str, names: list[str]) -> None:
    g = grant(rules, {}, "read")
    ranges = g.ranges(prefix)
    assert all(a.hi <= b.lo for a, b in itertools.pairwise(ranges))  # ordered, disjoint
    for name in names:
        inside = any(r.lo <= name < r.hi and (r.regex is None or re.search(r.regex, name)) for r in ranges)
        assert inside == (g.admits(name) and covers(prefix, name)), (name, ranges)
        for r in ranges:  # the GLOB SQLite tests first never drops a name the regex admits
            if r.glob is not None and r.regex is not None and re.search(r.regex, name):
                assert fnmatch.fnmatchcase(name, r.glob)
            if r.colons is not None and r.glob is not None and r.regex is not None:  # GLOB + count: exact
                by_glob = fnmatch.fnmatchcase(name, r.glob) and name.count(":") == r.colons
                assert by_glob == (re.search(r.regex, name) is not None)


@given(st.lists(rule, max_size=3), namespace, st.lists(namespace, max_size=20))
def test_covers_subtree_means_every_name_below_is_admitted(rules: list[str], prefix: str, names: list[str]) -> None:
    g = grant(rules, {}, "write")
    if g.covers_subtree(prefix):
        for name in [prefix] + [f"{prefix}:{n}" for n in names]:
            assert g.admits(name)


@pytest.mark.parametrize(
    ("rule_text", "admitted", "refused"),
    [
        ("user:alice", ["user:alice"], ["user:alice2", "user:alic", "user:alice:notes", "user", "user:Alice"]),
        ("user:alice:*", ["user:alice:..", "user:alice:x:y"], ["user:alice", "user:alice2:x", "user:alice..:x"]),
        ("project:*:decisions", ["project:acme:decisions"], ["project:acme:x:decisions", "project:decisions"]),
        ("*", ["a", "a:b:c"], []),
        ("*:notes", ["x:notes"], ["notes", "x:y:notes", "x:notes:y"]),
    ],
)
def test_tricky_names(rule_text: str, admitted: list[str], refused: list[str]) -> None:
    p = parse_pattern(rule_text, {}, "rule")
    assert all(p.admits(n) for n in admitted)
    assert not any(p.admits(n) for n in refused)


@pytest.mark.parametrize(
    "bad", ["", "user::alice", "user:al*", "user:*alice", ":user", "user:", "usér:alice", "user:{nope}", "a b", "x:{y"]
)
def test_malformed_rules_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_pattern(bad, {}, "rule")


@pytest.mark.parametrize("value", ["*", "a:*", "", "a::b", "{x}", ":a", 3, "a\nb"])
def test_a_placeholder_value_can_only_name_never_widen(value: Any) -> None:
    with pytest.raises(InvalidInput):
        check_bind({"session_id": value}, "agent")
    with pytest.raises(InvalidInput):
        check_bind({"actor": "someone"}, "agent")  # {actor} is the view's, always


def test_a_name_binds_where_names_go_and_not_into_namespaces() -> None:
    values = check_bind({"user": "alice@example.com"}, "agent")
    assert session_grant(["chat:{user}"], values).admits("chat", "alice@example.com")
    with pytest.raises(InvalidInput):
        parse_pattern("user:{user}", values, "r")  # not a namespace segment
    app = check_bind({"app": "chat", "user": "bob"}, "agent")
    g = session_grant(["{app}:{user}"], app)
    assert g.admits("chat", "bob") and not g.admits("chat", "alice")
    with pytest.raises(InvalidInput):
        session_grant(["{app}:x"], check_bind({"app": "a:b"}, "agent"))  # a value cannot move the split
    assert check_bind(None, "agent*")  == {}  # an actor that would widen a rule stays unbound


def test_placeholders_are_filled_once() -> None:
    values = check_bind({"session_id": "S1"}, "agent:planner")
    assert parse_pattern("session:{session_id}:*", values, "r").admits("session:S1:x")
    assert parse_pattern("agents:{actor}", values, "r").text == "agents:agent:planner"
    with pytest.raises(InvalidInput):
        parse_pattern("user:{actor}", check_bind(None, "not a namespace!"), "r")  # {actor} unbound


def test_session_rules_split_app_from_user() -> None:
    g = session_grant(["chat:alice", "support:*"], {})
    assert g.admits("chat", "alice") and g.admits("support", "anyone") and g.admits("support", "x:y")
    assert not g.admits("chat", "bob") and not g.admits("chat:alice", "") and not g.admits("chat", "alice:x")
    with pytest.raises(InvalidInput):
        session_grant(["chat"], {})


# -- the same rules inside real queries ---------------------------------------------------------

UNIVERSE = sorted({":".join(p) for n in (1, 2, 3) for p in itertools.product(["a", "a2", "ab", ".."], repeat=n)})


def _module_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty store for a module's tests, on the engine of ``request.param``."""
    if request.param == "sqlite":
        return str(tmp_path_factory.mktemp("access") / "swarm.db")
    schemas = request.getfixturevalue("pg_schemas")
    schema = schemas.take()
    request.addfinalizer(lambda: schemas.give_back(schema))
    return str(schemas.url(schema))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A store holding one entry in every namespace of UNIVERSE, and a task in every queue."""
    store = swarmstore.open(_module_store(request, tmp_path_factory), embedder=None)
    store.memory.put_many([{"namespace": ns, "key": "k", "value": ns} for ns in UNIVERSE])
    store.tasks.submit_many([{"summary": q, "queue": q} for q in UNIVERSE])
    yield store
    store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rules=st.lists(rule, max_size=3), prefix=st.sampled_from(["", "a", "a2", "a:ab", ".."]), limit=st.integers(1, 9))
def test_scoped_listings_hold_exactly_the_admitted_names(filled: Any, rules: list[str], prefix: str, limit: int) -> None:
    view = filled.scoped("agent:test", read=rules, queues=rules)
    g: Grant = view.rules.read
    got, cursor = [], None
    while True:
        page = view.memory.list(prefix, limit=limit, cursor=cursor)
        got += [m.namespace for m in page.items]
        if page.next_cursor is None:
            break
        assert len(page.items) == limit  # never short because of the rules
        cursor = page.next_cursor
    assert got == [ns for ns in UNIVERSE if g.admits(ns) and covers(prefix, ns)]
    queues = sorted(t.queue for t in view.tasks.list(limit=1000).items)
    assert queues == [q for q in UNIVERSE if view.rules.queues.admits(q)]


# -- queue and user names: any printable text, so rules meet empty segments, '*', brackets, unicode

NAME_SEGMENTS = ["a", "", "é", "a.b", "[x]", "%", "_", "a b", "\\\\", "*", "(", "$"]
NAMES = sorted(
    {n for k in (1, 2, 3) for p in itertools.product(NAME_SEGMENTS[:8], repeat=k) if (n := ":".join(p))}
    | {"*", "a:*", "*:a", "a:(", "$:a", "a:\\\\:a"}
)
name_rule = st.lists(st.sampled_from([s for s in NAME_SEGMENTS if s] + ["*"]), min_size=1, max_size=3).map(":".join)


@given(name_rule, st.sampled_from(NAMES))
def test_name_rules_mean_the_same_in_python_and_in_their_regex(rule_text: str, name: str) -> None:
    p = parse_pattern(rule_text, {}, "rule", names=True)
    assert p.admits(name) == reference(rule_text, name)
    glob = p.glob()
    if glob is not None and p.admits(name):
        assert fnmatch.fnmatchcase(name, glob)  # (GLOB's [[] and [*] escapes are fnmatch's too)
    if glob is not None and p.colons is not None:  # where SQLite skips the regex: exact
        assert (fnmatch.fnmatchcase(name, glob) and name.count(":") == p.colons) == p.admits(name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def named(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A store with a task in a queue of every name of NAMES, and a session of every user of it."""
    store = swarmstore.open(_module_store(request, tmp_path_factory), embedder=None)
    store.tasks.submit_many([{"summary": "t", "queue": q} for q in NAMES])
    for user in NAMES:
        store.sessions.create("chat", user)
    yield store
    store.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rules=st.lists(name_rule, min_size=1, max_size=3))
def test_queue_and_session_rules_inside_real_queries(named: Any, rules: list[str]) -> None:
    view = named.scoped("agent:test", queues=rules, sessions=[f"chat:{r}" for r in rules])
    queues = sorted(t.queue for t in view.tasks.list(limit=1000).items)
    assert queues == sorted(q for q in NAMES if view.rules.queues.admits(q))
    users = sorted(s.user for s in view.sessions.list(limit=1000).items)
    assert users == sorted(u for u in NAMES if view.rules.sessions.admits("chat", u))
