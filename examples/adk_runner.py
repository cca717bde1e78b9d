"""An ADK agent run by ADK's Runner with swarmstore as its session and memory services.

No network and no API key: the model is ADK's own ``MockModel`` (``google.adk.cli.agent_test_runner``,
which imports pytest), scripted to call a tool and then answer. Run:

    pip install -e ".[adk,test]" && python examples/adk_runner.py [store path]

The first conversation saves a fact in ``user:`` state (through the tool) and is added to memory;
a second session of the same user sees the fact in its state and finds the conversation by search.
Everything is in one swarmstore file: `swarmstore session list`, `swarmstore audit` show it too.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from google.adk.agents.llm_agent import LlmAgent
from google.adk.cli.agent_test_runner import MockModel
from google.adk.runners import Runner
from google.adk.tools.tool_context import ToolContext
from google.genai import types

import swarmstore.aio
from swarmstore.integrations.adk import SwarmstoreMemoryService, SwarmstoreSessionService

APP, USER = "travel-assistant", "alice"


def remember_preference(preference: str, tool_context: ToolContext) -> dict[str, str]:
    """Remember the user's travel preference (kept in user-scoped state)."""
    tool_context.state["user:preference"] = preference
    return {"status": "saved"}


def scripted_model() -> MockModel:
    """The model's two turns: call the tool, then answer."""
    call = types.Part.from_function_call(name="remember_preference", args={"preference": "window seat"})
    answer = types.Part.from_text(text="Noted: you prefer a window seat on every flight.")
    return MockModel.create([types.Content(role="model", parts=[call]), types.Content(role="model", parts=[answer])])


async def run(path: str) -> dict[str, Any]:
    """One conversation, saved to memory; then what a new session of the same user sees."""
    async with swarmstore.aio.open(path) as store:
        sessions, memory = SwarmstoreSessionService(store), SwarmstoreMemoryService(store)
        agent = LlmAgent(
            name="assistant",
            model=scripted_model(),
            instruction="Help the user plan trips.",
            tools=[remember_preference],
            output_key="last_reply",
        )
        runner = Runner(app_name=APP, agent=agent, session_service=sessions, memory_service=memory)
        first = await sessions.create_session(app_name=APP, user_id=USER, state={"trip": "Lisbon"})
        message = types.Content(role="user", parts=[types.Part.from_text(text="I always want a window seat.")])
        replies = [
            part.text
            async for event in runner.run_async(user_id=USER, session_id=first.id, new_message=message)
            if event.content and event.content.parts
            for part in event.content.parts
            if part.text
        ]
        done = await sessions.get_session(app_name=APP, user_id=USER, session_id=first.id)
        assert done is not None
        await memory.add_session_to_memory(done)

        second = await sessions.create_session(app_name=APP, user_id=USER)
        found = await memory.search_memory(app_name=APP, user_id=USER, query="window seat")
        await runner.close()
        return {
            "replies": replies,
            "events": len(done.events),
            "state": done.state,
            "new_session_state": second.state,
            "memories": [m.content.parts[0].text for m in found.memories if m.content.parts],
        }


def main(argv: list[str]) -> None:
    path = argv[1] if len(argv) > 1 else str(Path(tempfile.mkdtemp()) / "adk.db")
    out = asyncio.run(run(path))
    print("agent said:      ", out["replies"])
    print("session events:  ", out["events"])
    print("session state:   ", out["state"])
    print("new session sees:", out["new_session_state"])
    print("memory search:   ", out["memories"])
    print("store:           ", path)


if __name__ == "__main__":
    main(sys.argv)
