"""A scoped view's rules and the one place that checks them and records refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, NoReturn

from ..access import Grant, SessionGrant, check_bind, grant, session_grant
from ..engine.base import Engine
from ..engine.ops.audit import AuditRecord
from ..errors import PermissionDenied, SwarmstoreError
from ..namespaces import check_namespace
from ..validation import check_name


@dataclass(frozen=True, slots=True)
class Rules:
    """What a view may do: ``read`` and ``write`` namespaces (memory, documents; writing implies
    reading), task ``queues``, and ``sessions`` by app and user."""

    read: Grant
    write: Grant
    queues: Grant
    sessions: SessionGrant

    def describe(self) -> dict[str, list[str]]:
        """The rules as pattern texts (placeholders filled)."""
        return {
            "read": [p.text for p in self.read.patterns if p not in self.write.patterns],
            "write": [p.text for p in self.write.patterns],
            "queues": [p.text for p in self.queues.patterns],
            "sessions": [f"{a or '*'}:{u.text}" for a, u in self.sessions.rules],
        }


def make_rules(
    actor: str,
    read: Iterable[str] | str | None,
    write: Iterable[str] | str | None,
    queues: Iterable[str] | str | None,
    sessions: Iterable[str] | str | None,
    bind: Mapping[str, Any] | None,
) -> Rules:
    """Parse and check a view's rules (InvalidInput naming the bad one)."""
    values = check_bind(bind, actor)
    w = grant(write, values, "write")
    r = grant(read, values, "read")
    readable = Grant(w.patterns + tuple(p for p in r.patterns if p not in w.patterns))
    return Rules(readable, w, grant(queues, values, "queues", names=True), session_grant(sessions, values))


def check_namespace_ok(name: str) -> bool:
    try:
        check_namespace(name)
    except SwarmstoreError:
        return False
    return True


class Scope:
    """The view's actor, rules and the plain engine its refusals are recorded through."""

    __slots__ = ("_engine", "_now", "_readable", "_writable", "actor", "rules")

    def __init__(self, engine: Engine, now_us: Callable[[], int], actor: object, rules: Rules) -> None:
        self.actor = check_name(actor, "actor")
        self.rules = rules
        self._engine = engine
        self._now = now_us
        self._readable: dict[object, bool] = {}
        self._writable: dict[object, bool] = {}

    def deny(self, action: str, kind: str, name: str, rules: object, entity_id: str | None = None) -> NoReturn:
        """Record the refusal (its own transaction, through the plain engine, so that it commits
        even inside a view's async call) and raise PermissionDenied. ``name`` is the namespace,
        queue or session refused; ``entity_id`` the entity, when it is not the name itself."""
        namespace = name if kind in ("memory", "document") and check_namespace_ok(name) else None
        record = AuditRecord(
            self._now(), self.actor, "access.denied", kind, (entity_id or name)[:2048] or "-",
            namespace, {"action": action, "rules": str(rules)},
        )  # fmt: skip
        with suppress(SwarmstoreError):  # (a read-only store cannot record it: still refuse)
            self._engine.write(lambda tx: self._engine.audit.append(tx, (record,)))
        raise PermissionDenied(self.actor, action, kind, name, str(rules))

    def read(self, namespace: object, kind: str = "memory") -> str:
        """The checked namespace, if the view may read it."""
        return self._check(namespace, kind, "read", self.rules.read, self._readable)

    def write(self, namespace: object, kind: str = "memory") -> str:
        """The checked namespace, if the view may write it."""
        return self._check(namespace, kind, "write", self.rules.write, self._writable)

    def _check(self, namespace: object, kind: str, action: str, rules: Grant, known: dict[object, bool]) -> str:
        ok = known.get(namespace) if type(namespace) is str else None
        if ok is None:  # (an agent uses few namespaces, often: each is checked once)
            ok = rules.admits(check_namespace(namespace))
            if len(known) >= 4096:
                known.clear()
            known[namespace] = ok
        if not ok:
            self.deny(action, kind, namespace, rules)  # type: ignore[arg-type]
        return namespace  # type: ignore[return-value]

    def write_all(self, prefix: str) -> None:
        """The view may write every namespace ``prefix`` covers ("" for all)."""
        if not self.rules.write.covers_subtree(prefix):
            self.deny("write", "memory", prefix or "*", self.rules.write)

    def queue(self, queue: object) -> str:
        name = check_name(queue, "queue")
        if not self.rules.queues.admits(name):
            self.deny("use", "queue", name, self.rules.queues)
        return name

    def all_queues(self, what: str) -> None:
        if not self.rules.queues.everything:
            self.deny(what, "queue", "*", self.rules.queues)

    def session(self, app: str, user: str, sid: str | None = None) -> None:
        if not self.rules.sessions.admits(app, user):
            self.deny("use", "session", sid or f"{app}:{user}", self.rules.sessions)

    def own(self, actor: object) -> None:
        """A caller may name the view's actor, never another one."""
        if actor is not None and actor != self.actor:
            self.deny("act as", "actor", str(actor), self.actor)
