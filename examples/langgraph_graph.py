"""A LangGraph graph whose checkpoints and long-term memory live in swarmstore.

Runs offline: the "model" is LangChain's own fake chat model (no key, no network).

    pip install -e ".[langgraph]"
    python examples/langgraph_graph.py [store-url]      # default: a fresh SQLite file in a temp folder

Two turns on one thread: the checkpointer (``SwarmstoreSaver``) carries the conversation from the
first to the second, and the store (``SwarmstoreStore``) keeps what the graph learned about the user
across threads. Afterwards the same data is read back through swarmstore's own API: the thread is a
session of app ``langgraph`` with ``checkpoint`` events, the memory a versioned entry.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.store.base import BaseStore

import swarmstore
from swarmstore.integrations.langgraph import SwarmstoreSaver, SwarmstoreStore


def remember(state: MessagesState, *, store: BaseStore) -> dict[str, Any]:
    """Keep any 'I like X' the user says, under their namespace (long-term memory)."""
    text = str(state["messages"][-1].content)
    if text.startswith("I like "):
        store.put(("users", "alice"), "likes", {"colour": text.removeprefix("I like ").rstrip(".")})
    return {}


def main(url: str) -> dict[str, Any]:
    model = GenericFakeChatModel(messages=iter([AIMessage("Noted: you like green."), AIMessage("Your colour is green.")]))

    def respond(state: MessagesState, *, store: BaseStore) -> dict[str, Any]:
        likes = store.get(("users", "alice"), "likes")
        context = f"(known: {likes.value})" if likes else "(known: nothing)"
        return {"messages": [model.invoke([*state["messages"], HumanMessage(context)])]}

    with swarmstore.open(url) as store:
        graph = (
            StateGraph(MessagesState)
            .add_node("remember", remember)
            .add_node("respond", respond)
            .add_edge(START, "remember")
            .add_edge("remember", "respond")
            .compile(checkpointer=SwarmstoreSaver(store), store=SwarmstoreStore(store))
        )
        config = {"configurable": {"thread_id": "chat-1"}}
        graph.invoke({"messages": [HumanMessage("I like green.")]}, config)  # type: ignore[arg-type]
        out = graph.invoke({"messages": [HumanMessage("What is my colour?")]}, config)  # type: ignore[arg-type]
        answer = out["messages"][-1].content
        print("turns:", [f"{m.type}: {m.content}" for m in out["messages"]])

        [session] = store.sessions.list(app="langgraph", user="chat-1")
        kinds = [e.type for e in store.sessions.events(session.id, limit=1000)]
        memory = store.memory.get("langgraph:users:alice", "likes")
        print(f"session {session.id}: {kinds.count('checkpoint')} checkpoints, {kinds.count('checkpoint.writes')} writes")
        print(f"memory {memory.namespace}/{memory.key} v{memory.version}: {memory.value}")
        return {"answer": answer, "messages": len(out["messages"]), "events": kinds, "memory": memory.value}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(tempfile.mkdtemp()) / "swarm.db"))
