"""The models as read from the store: built from rows with their JSON fields decoded on first read
(models.Lazy), they must behave exactly like objects built whole by their constructors."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import swarmstore
from swarmstore import ManualClock, Store
from swarmstore.models import Memory, Session, Task

US = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture
def st(db_path: str) -> Iterator[Store]:
    with swarmstore.open(db_path) as s:
        yield s


def whole(obj: Any) -> Any:
    """The same object built by its class's constructor from its fields' values (read here)."""
    return type(obj)(**{f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})


def listed(st: Store, kind: str) -> Any:
    """A fresh object of ``kind`` from a listing, none of its fields read yet."""
    if kind == "memory":
        return st.memory.list("p")[0]
    if kind == "session":
        return st.sessions.list()[0]
    if kind == "audit":
        return st.audit.list()[0]
    if kind == "agent":
        return st.agents.list()[0]
    t = st.tasks.list()[0]
    t.score = 0.0  # (the urgency as of the read: it differs between two reads)
    return t


@pytest.fixture
def filled(st: Store) -> Store:
    st.memory.put("p:q", "k", {"a": [1, 2]}, metadata={"m": 1}, ttl=3600)
    s = st.sessions.create("app", "u", state={"goal": "x"}, metadata={"n": 2})
    st.sessions.append_event(s.id, "message", "me", {"t": 1}, state_delta={"temp:d": 1, "step": 2})
    st.tasks.submit("t", {"p": 1}, metadata={"o": 3})
    st.agents.register("a1", "coder", metadata={"gpu": True})  # (and the newest audit row, its detail)
    return st


KINDS = ["memory", "session", "task"]  # (with two lazy fields or more)
ALL_KINDS = [*KINDS, "audit", "agent"]
JSON_FIELD = {"memory": "value", "session": "state", "task": "payload", "audit": "detail", "agent": "metadata"}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_equal_and_same_repr_as_built_whole_before_any_read(filled: Store, kind: str) -> None:
    a, b = listed(filled, kind), listed(filled, kind)
    assert a == b, "two unread objects compare by their decoded fields"
    assert repr(listed(filled, kind)) == repr(whole(a))
    assert a == whole(a) and whole(a) == a
    assert dataclasses.asdict(listed(filled, kind)) == dataclasses.asdict(whole(a))
    assert dataclasses.replace(listed(filled, kind)) == a


def test_decoded_values(filled: Store) -> None:
    m = listed(filled, "memory")
    assert (m.value, m.metadata, m.version, m.deleted) == ({"a": [1, 2]}, {"m": 1}, 1, False)
    s = listed(filled, "session")
    assert s.state == {"goal": "x", "step": 2, "temp:d": 1} and s.metadata == {"n": 2}
    t = listed(filled, "task")
    assert (t.payload, t.metadata, t.depends_on, t.result) == ({"p": 1}, {"o": 3}, [], None)
    a = listed(filled, "agent")
    assert (a.name, a.metadata, a.alive, a.stopped_at) == ("a1", {"gpu": True}, True, None)
    e = listed(filled, "audit")
    assert (e.action, e.entity_id, e.detail) == ("agent.register", a.id, e.detail) and isinstance(e.detail, dict)
    assert (e.at - EPOCH) // US == filled.engine.query("SELECT at FROM audit WHERE id = ?", (e.id,))[0][0]


def test_timestamps_are_exact_microseconds(filled: Store) -> None:
    """Each datetime is the stored integer, to the microsecond (no float rounding)."""
    created, updated, expires = filled.engine.query("SELECT created_at, updated_at, expires_at FROM memories")[0]
    m = listed(filled, "memory")
    assert [(d - EPOCH) // US for d in (m.created_at, m.updated_at, m.expires_at)] == [created, updated, expires]
    assert m.created_at.tzinfo is UTC
    # a key updated later: its own updated_at
    filled.memory.put("p:q", "k", 2)
    created2, updated2 = filled.engine.query("SELECT created_at, updated_at FROM memories")[0]
    m2 = listed(filled, "memory")
    assert ((m2.created_at - EPOCH) // US, (m2.updated_at - EPOCH) // US) == (created2, updated2)
    assert updated2 != created2
    # far ahead (year ~8000), where a float of seconds has no microseconds left
    far = swarmstore.open(filled.url, clock=ManualClock(datetime(7999, 1, 1, tzinfo=UTC)))
    far.memory.put("p:q", "k", 3, ttl=timedelta(days=365 * 99, microseconds=7))
    expires3 = filled.engine.query("SELECT expires_at FROM memories")[0][0]
    assert (listed(filled, "memory").expires_at - EPOCH) // US == expires3
    far.close()
    assert expires3 % 1_000_000 != 0
    s = listed(filled, "session")
    srow = filled.engine.query("SELECT created_at FROM sessions")[0]
    assert (s.created_at - EPOCH) // US == srow[0]
    t = listed(filled, "task")
    trow = filled.engine.query("SELECT created_at, updated_at FROM tasks")[0]
    assert ((t.created_at - EPOCH) // US, (t.updated_at - EPOCH) // US) == tuple(trow)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_decoded_value_is_kept(filled: Store, kind: str) -> None:
    """Read once, a JSON field is the same object on every read: changes to it stay."""
    obj = listed(filled, kind)
    field = JSON_FIELD[kind]
    getattr(obj, field)["added"] = True
    assert getattr(obj, field)["added"] is True
    assert getattr(obj, field) is getattr(obj, field)


@pytest.mark.parametrize("kind", KINDS)
def test_an_assigned_field_keeps_its_value(filled: Store, kind: str) -> None:
    """A field assigned before its first read is not overwritten when other fields are decoded."""
    obj = listed(filled, kind)
    field = JSON_FIELD[kind]
    setattr(obj, field, "mine")
    assert obj.metadata  # decodes another lazy field
    assert getattr(obj, field) == "mine"
    assert obj != listed(filled, kind)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_copies_and_pickles(filled: Store, kind: str) -> None:
    for clone in (
        pickle.loads(pickle.dumps(listed(filled, kind))),
        copy.copy(listed(filled, kind)),
        copy.deepcopy(listed(filled, kind)),
    ):
        assert clone == listed(filled, kind)
        assert repr(clone) == repr(listed(filled, kind))
    obj = listed(filled, kind)
    deep = copy.deepcopy(obj)
    getattr(deep, JSON_FIELD[kind])["changed"] = 1
    assert "changed" not in getattr(obj, JSON_FIELD[kind]), "a deep copy shares no JSON"


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_unknown_attributes_raise_as_usual(filled: Store, kind: str) -> None:
    obj = listed(filled, kind)
    with pytest.raises(AttributeError, match=rf"^'{type(obj).__name__}' object has no attribute 'valeu'$"):
        obj.valeu  # noqa: B018
    assert not hasattr(obj, "_row_") and not hasattr(obj, "__deepcopy__")
    with pytest.raises(AttributeError):
        obj.new_attribute = 1  # slotted, as before


def test_objects_built_whole_are_plain(filled: Store) -> None:
    """The constructors are unchanged: every field is set, nothing is decoded later."""
    now = datetime.now(UTC)
    m = Memory("n", "k", {"v": 1}, "semantic", 1, {}, None, now, now, None)
    assert m.value == {"v": 1} and m.deleted is False and m.updated_by is None
    s = Session("id", "a", "u", None, "created", {}, {}, now, now)
    assert s.event_count == 0 and s.terminated_at is None
    t = Task("id", "s", None, "q", "ready", 5, 0.0, 0, 3, None, None, None, None, None, None, [], now)
    assert t.metadata == {} and t.finished is False
    with pytest.raises(AttributeError, match="has no attribute 'value'"):
        del m.value
        m.value  # noqa: B018
