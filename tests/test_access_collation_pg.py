"""Scoped listings on a PostgreSQL database whose default collation is linguistic (ICU), where
';' sorts before ':': a rule's range must still mean code point order."""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

import swarmstore


@pytest.fixture
def icu_url(pg_base_url: str) -> Iterator[str]:
    name = f"swt_icu_{os.getpid()}"
    with psycopg.connect(pg_base_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(
            f"CREATE DATABASE {name} LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' TEMPLATE template0"
        )
    try:
        yield urlunsplit(urlsplit(pg_base_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(pg_base_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_rules_keep_code_point_order_under_an_icu_collation(icu_url: str) -> None:
    with psycopg.connect(icu_url) as conn:  # (the premise: here ';' sorts before ':')
        assert conn.execute("SELECT 'team;' < 'team:'").fetchone() == (True,)
    with swarmstore.open(icu_url, embedder=None) as store:
        for q in ("team:a", "team:b:c", "team", "teams"):
            store.tasks.submit("t", queue=q)
            store.sessions.create("chat", q)
        store.memory.put("team:a", "k", 1)
        view = store.scoped("agent:x", read=["team:*"], queues=["team:*"], sessions=["chat:team:*"])
        assert sorted(t.queue for t in view.tasks.list().items) == ["team:a", "team:b:c"]
        assert sorted(s.user for s in view.sessions.list().items) == ["team:a", "team:b:c"]
        assert [m.namespace for m in view.memory.list().items] == ["team:a"]
        wide = store.scoped("agent:x", write=["*"])  # (the same actor, writing more widely)
        wide.memory.put("teams", "k", 1)
        wide.memory.put("team:a", "k2", 2)
        assert [e.namespace for e in view.audit.list().items] == ["team:a"]
