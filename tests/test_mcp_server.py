"""The MCP server in process (the SDK's in-memory client): every tool, checked against the store
afterwards, and how failures read, on both engines, over the sync view and the async one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from mcp import Client

import swarmstore
from mcp_helpers import TOOLS, ok, refused
from swarmstore import aio
from swarmstore.errors import NotFound
from swarmstore.mcp import build_server

ACTOR = "agent:tester"
EVERYTHING: dict[str, Any] = {"read": "*", "write": "*", "queues": "*", "sessions": "*:*"}
Body = Callable[[Any, Any], Awaitable[None]]


@pytest.fixture(params=["sync", "async"])
def view_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def serve(url: str, kind: str, body: Body, rules: dict[str, Any] | None = None) -> None:
    """Run ``body(client, store)``: a client of a server over a scoped view (``rules``, by default
    everything) of the store at ``url`` (the sync ``Store``'s or the ``AsyncStore``'s), and a separate
    plain store to check what the tools did."""

    async def main() -> None:
        opened: Any = (swarmstore.open if kind == "sync" else aio.open)(url, embedder=None, actor=ACTOR)
        view = opened.scoped(ACTOR, **(rules or EVERYTHING))
        check = swarmstore.open(url, embedder=None)
        try:
            async with Client(build_server(view, actor=ACTOR)) as client:
                await body(client, check)
        finally:
            check.close()
            if kind == "sync":
                opened.close()
            else:
                await opened.aclose()

    anyio.run(main)


def test_tools_are_listed_with_descriptions_and_schemas(store_url: str) -> None:
    async def body(client: Any, store: Any) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        for t in tools.values():
            assert len(t.description or "") > 30, t.name
            assert t.input_schema["type"] == "object"
            assert t.output_schema is not None and t.output_schema["type"] == "object", t.name
            for name, prop in t.input_schema.get("properties", {}).items():
                assert prop.get("description"), (t.name, name)
        assert "lease_token" in tools["task_claim"].description
        assert set(tools["task_submit"].input_schema["properties"]) >= {"depends_on", "parent", "summary"}
        assert tools["memory_get"].annotations.read_only_hint is True
        assert tools["memory_delete"].annotations.destructive_hint is True

    serve(store_url, "sync", body)


def test_memory_tools_change_the_store(store_url: str, view_kind: str) -> None:
    async def body(client: Any, store: Any) -> None:
        m = await ok(client, "memory_put", namespace="project:acme", key="db", value={"pick": "sqlite"})
        assert (m["version"], m["created_by"]) == (1, ACTOR)
        assert store.memory.get("project:acme", "db").value == {"pick": "sqlite"}
        await ok(client, "memory_put", namespace="project:acme:notes", key="n1", value="fast", type="episodic")
        m2 = await ok(client, "memory_put", namespace="project:acme", key="db", value="postgres", expected_version=1)
        assert m2["version"] == 2 and store.memory.get("project:acme", "db").value == "postgres"

        assert (await ok(client, "memory_get", namespace="project:acme", key="db"))["value"] == "postgres"
        assert (await ok(client, "memory_get", namespace="project:acme", key="db", version=1))["value"] == {
            "pick": "sqlite"
        }
        page = await ok(client, "memory_list", prefix="project:acme", limit=1)
        assert [i["key"] for i in page["items"]] == ["db"] and page["next_cursor"]
        page2 = await ok(client, "memory_list", prefix="project:acme", limit=1, cursor=page["next_cursor"])
        assert [i["key"] for i in page2["items"]] == ["n1"]
        assert (await ok(client, "memory_namespaces"))["namespaces"] == ["project:acme", "project:acme:notes"]
        versions = (await ok(client, "memory_history", namespace="project:acme", key="db"))["versions"]
        assert [v["version"] for v in versions] == [1, 2]

        await ok(client, "memory_delete", namespace="project:acme", key="db")
        with pytest.raises(NotFound):
            store.memory.get("project:acme", "db")
        restored = await ok(client, "memory_restore", namespace="project:acme", key="db")
        assert restored["value"] == "postgres" and store.memory.get("project:acme", "db").value == "postgres"

        hits = (await ok(client, "memory_search", query="fast", mode="keyword"))["hits"]
        assert [h["memory"]["key"] for h in hits] == ["n1"]
        if "memory_resolve" in {t.name for t in (await client.list_tools()).tools}:
            await ok(client, "memory_put", namespace="user:alice", key="db", value="duckdb")
            got = await ok(client, "memory_resolve", key="db", scopes=["session:s1", "user:alice", "project:acme"])
            assert (got["namespace"], got["value"]) == ("user:alice", "duckdb")
            got = await ok(client, "memory_resolve", key="db", scopes=["session:s1", "project:acme"])
            assert got["namespace"] == "project:acme"
            await refused(client, "memory_resolve", "NotFound", key="db", scopes=["session:s1"])
        audit = store.audit.list(entity="memory", limit=100).items
        assert audit and {a.actor for a in audit} == {ACTOR}

    serve(store_url, view_kind, body)


def test_session_tools_change_the_store(store_url: str, view_kind: str) -> None:
    async def body(client: Any, store: Any) -> None:
        s = await ok(client, "session_create", app="myapp", user="alice", state={"topic": "db"})
        sid = s["id"]
        assert store.sessions.get(sid).user == "alice"
        assert (await ok(client, "session_get", session_id=sid))["app"] == "myapp"
        e = await ok(client, "session_append_event", session_id=sid, type="message", content={"text": "hi"})
        assert e["seq"] == 1 and e["actor"] == ACTOR
        events = store.sessions.events(sid).items
        assert [(ev.type, ev.actor, ev.content) for ev in events] == [("message", ACTOR, {"text": "hi"})]
        await ok(client, "session_set_state", session_id=sid, key="user:lang", value="fr")
        assert store.sessions.get_state(sid, "user:lang") == "fr"
        assert (await ok(client, "session_get_state", session_id=sid, key="user:lang"))["value"] == "fr"
        state = (await ok(client, "session_get_state", session_id=sid))["state"]
        assert state["topic"] == "db" and state["user:lang"] == "fr"
        await refused(client, "session_get_state", "NotFound", session_id=sid, key="missing")

    serve(store_url, view_kind, body)


def test_task_tools_run_a_small_dag(store_url: str, view_kind: str) -> None:
    async def body(client: Any, store: Any) -> None:
        root = await ok(client, "task_submit", summary="write the report", queue="planning")
        a = await ok(client, "task_submit", summary="gather", queue="research", parent=root["id"], priority=9)
        b = await ok(
            client, "task_submit", summary="summarise", queue="research", parent=root["id"], depends_on=[a["id"]]
        )
        assert store.tasks.get(b["id"]).status == "blocked" and store.tasks.get(a["id"]).source == "agent"
        assert (await ok(client, "task_get", task_id=b["id"]))["depends_on"] == [a["id"]]
        plan = (await ok(client, "task_plan", task_ids=[b["id"]]))["batches"]
        assert plan == [[a["id"]], [b["id"]]]
        listed = await ok(client, "task_list", parent=root["id"], status=["ready"])
        assert [t["id"] for t in listed["items"]] == [a["id"]]

        claimed = (await ok(client, "task_claim", queues=["research"], lease_seconds=30))["tasks"]
        assert [t["id"] for t in claimed] == [a["id"]]
        token = claimed[0]["lease_token"]
        assert claimed[0]["worker_id"] == ACTOR and store.tasks.get(a["id"]).status == "running"
        await ok(client, "task_heartbeat", task_id=a["id"], lease_token=token, lease_seconds=60)
        await refused(client, "task_complete", "LeaseLost", task_id=a["id"], lease_token="not-the-token")
        done = await ok(client, "task_complete", task_id=a["id"], lease_token=token, result={"sources": 3})
        assert done["status"] == "completed" and store.tasks.get(a["id"]).result == {"sources": 3}
        assert store.tasks.get(b["id"]).status == "ready"

        (got,) = (await ok(client, "task_claim", queues=["research"]))["tasks"]
        assert got["id"] == b["id"]
        failed = await ok(client, "task_fail", task_id=b["id"], lease_token=got["lease_token"], error="no", retry=False)
        assert failed["status"] == "failed" and store.tasks.get(b["id"]).error == "no"

        tree = await ok(client, "task_tree", task_id=root["id"])
        assert tree["task"]["id"] == root["id"] and {c["task"]["id"] for c in tree["children"]} == {a["id"], b["id"]}
        stats = await ok(client, "task_stats")
        assert stats and "completed" in str(stats)
        await ok(client, "task_cancel", task_id=root["id"], reason="enough")
        assert store.tasks.get(root["id"]).status == "cancelled"
        assert (await ok(client, "task_claim", queues=["research"]))["tasks"] == []

    serve(store_url, view_kind, body)


def test_documents_search_finds_a_chunk(store_url: str, view_kind: str) -> None:
    async def body(client: Any, store: Any) -> None:
        store.documents.add("guide/deploy.md", "# Deploy\n\nRun the migrations before the rollout.", title="Deploy")
        hits = (await ok(client, "documents_search", query="migrations rollout", mode="keyword"))["hits"]
        assert hits and hits[0]["document"]["id"] == "guide/deploy.md" and "migrations" in hits[0]["chunk"]["text"]

    serve(store_url, view_kind, body)


def test_failures_read_as_one_typed_line_and_change_nothing(store_url: str, view_kind: str) -> None:
    async def body(client: Any, store: Any) -> None:
        before = store.audit.list(limit=1000).items
        assert "project:none/x" in await refused(client, "memory_get", "NotFound", namespace="project:none", key="x")
        msg = await refused(client, "memory_put", "InvalidInput", namespace="bad namespace!", key="k", value=1)
        assert msg.startswith("InvalidInput: namespace: ")
        msg = await refused(client, "memory_put", "InvalidInput", namespace="p", key="k", value="x" * 2_000_000)
        assert "value" in msg
        # Schema violations (the model's mistakes): a wrong type, a missing argument, a value outside an enum.
        msg = await refused(client, "memory_get", "InvalidInput", namespace=5, key="k")
        assert "namespace" in msg and "string" in msg
        assert "key: field required" in await refused(client, "memory_get", "InvalidInput", namespace="p")
        assert "mode" in await refused(client, "memory_search", "InvalidInput", query="x", mode="psychic")
        assert "priority" in await refused(client, "task_submit", "InvalidInput", summary="s", priority=99)
        await refused(client, "task_heartbeat", "NotFound", task_id="no-such-task", lease_token="t")
        assert "expected version" in await refused(
            client, "memory_put", "Conflict", namespace="p", key="k", value=1, expected_version=3
        )
        assert store.audit.list(limit=1000).items == before
        assert store.memory.namespaces() == []

    serve(store_url, view_kind, body)


def test_resources_browse_namespaces_and_a_task_tree(store_url: str) -> None:
    async def body(client: Any, store: Any) -> None:
        import orjson

        store.memory.put("user:alice", "lang", "fr")
        root = store.tasks.submit("root")
        child = store.tasks.submit("child", parent=root.id)
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        assert listed == {"swarmstore://access", "swarmstore://namespaces"}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert templates == {"swarmstore://memory/{namespace}", "swarmstore://tasks/{task_id}/tree"}

        async def read(uri: str) -> Any:
            return orjson.loads((await client.read_resource(uri)).contents[0].text)

        assert await read("swarmstore://namespaces") == ["user:alice"]
        assert [i["key"] for i in (await read("swarmstore://memory/user:alice"))["items"]] == ["lang"]
        tree = await read(f"swarmstore://tasks/{root.id}/tree")
        assert [c["task"]["id"] for c in tree["children"]] == [child.id]
        assert (await read("swarmstore://access"))["actor"] == ACTOR
        with pytest.raises(Exception, match="NotFound: task"):
            await client.read_resource("swarmstore://tasks/nope/tree")

    serve(store_url, "async", body)


RULES: dict[str, Any] = {
    "read": ["project:acme:*", "user:{user}"],
    "write": ["project:acme:scratch:*"],
    "queues": ["research"],
    "sessions": ["myapp:{user}"],
    "bind": {"user": "alice"},
}


def test_a_scoped_view_refuses_and_hides_what_its_rules_do_not_admit(store_url: str, view_kind: str) -> None:
    async def body(client: Any, store: Any) -> None:
        import orjson

        store.memory.put("project:acme:decisions", "db", "sqlite")
        store.memory.put("project:other", "secret", "s3cr3t")
        store.memory.put("user:bob", "lang", "de")
        before = store.memory.history("project:acme:decisions", "db")

        assert (await ok(client, "memory_get", namespace="project:acme:decisions", key="db"))["value"] == "sqlite"
        msg = await refused(
            client, "memory_put", "PermissionDenied", namespace="project:acme:decisions", key="db", value="mongo"
        )
        assert "project:acme:decisions" in msg and ACTOR in msg
        await refused(client, "memory_get", "PermissionDenied", namespace="project:other", key="secret")
        await refused(client, "memory_delete", "PermissionDenied", namespace="project:acme:decisions", key="db")
        await refused(client, "memory_history", "PermissionDenied", namespace="user:bob", key="lang")
        await refused(client, "task_submit", "PermissionDenied", summary="x", queue="ops")
        await refused(client, "session_create", "PermissionDenied", app="myapp", user="bob")
        await ok(client, "memory_put", namespace="project:acme:scratch:a", key="k", value=1)

        assert (await ok(client, "memory_namespaces"))["namespaces"] == [
            "project:acme:decisions",
            "project:acme:scratch:a",
        ]
        keys = [(m["namespace"], m["key"]) for m in (await ok(client, "memory_list", limit=1000))["items"]]
        assert keys == [("project:acme:decisions", "db"), ("project:acme:scratch:a", "k")]
        hits = (await ok(client, "memory_search", query="s3cr3t", mode="keyword"))["hits"]
        assert hits == []
        assert orjson.loads((await client.read_resource("swarmstore://namespaces")).contents[0].text) == [
            "project:acme:decisions",
            "project:acme:scratch:a",
        ]
        rules = orjson.loads((await client.read_resource("swarmstore://access")).contents[0].text)["rules"]
        assert "user:alice" in str(rules) and "project:acme:scratch:*" in str(rules)
        hidden = orjson.loads((await client.read_resource("swarmstore://memory/project:other")).contents[0].text)
        assert hidden["items"] == []  # (a listing outside the rules is empty, not an error)

        assert store.memory.history("project:acme:decisions", "db") == before
        assert store.tasks.list().items == [] and store.sessions.list().items == []
        denied = store.audit.list(action="access.denied", limit=100).items
        assert len(denied) >= 6 and {a.actor for a in denied} == {ACTOR}

    serve(store_url, view_kind, body, RULES)
