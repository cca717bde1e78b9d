"""An OpenAI Agents SDK agent whose conversation lives in swarmstore (no API key, no network).

The model is the SDK's own ``ScriptedModel`` (``agents.testing``): it plays back the replies
given to it, here a tool call and two answers. The history goes to a ``SwarmstoreSession``, so the
second turn sees the first, and the whole exchange stays in swarmstore's session event log.

    pip install -e ".[openai-agents]"
    python examples/openai_agents_session.py [path/to/swarm.db]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.testing import ScriptedModel, assistant_message, function_call

import swarmstore.aio
from swarmstore.integrations.openai_agents import SwarmstoreSession


@function_tool
def store_engine() -> str:
    """Which database the project settled on."""
    return "SQLite, PostgreSQL when the swarm outgrows one machine"


def _text(item: Any) -> str:
    content = item.get("content")
    if isinstance(content, list):  # an assistant message: its parts
        return " ".join(part.get("text", "") for part in content)
    return str(content)


async def main(path: str) -> None:
    set_tracing_disabled(True)  # (tracing would export to OpenAI's servers)
    model = ScriptedModel(
        [
            [function_call("store_engine", {}, call_id="call-1")],
            [assistant_message("We use SQLite, and PostgreSQL once the swarm outgrows one machine.")],
            [assistant_message("You asked which database we use.")],
        ]
    )
    agent = Agent(name="planner", instructions="Answer from the project's decisions.", model=model, tools=[store_engine])
    async with swarmstore.aio.open(path) as store:
        session = SwarmstoreSession("conversation-42", store, app="planner", user="alice")
        first = await Runner.run(agent, "Which database do we use?", session=session)
        print("turn 1:", first.final_output)
        second = await Runner.run(agent, "What did I just ask you?", session=session)
        print("turn 2:", second.final_output)
        print("the model's input on turn 2 held", len(model.calls[-1].input), "items of history and question")

        history = await session.get_items()
        print(f"history: {len(history)} items; the last two:")
        for item in history[-2:]:
            print("  ", item.get("role"), _text(item))
        undone = await session.pop_item()  # take back the last answer
        print("popped:", undone is not None and undone.get("role"), "-> now", len(await session.get_items()), "items")

        # the same conversation, as swarmstore sees it: one event per add_items, a tombstone per pop
        events = await store.sessions.events("conversation-42", limit=100)
        print("swarmstore events:", ", ".join(f"{e.seq}:{e.type}" for e in events))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(str(Path(tmp) / "swarm.db")))
