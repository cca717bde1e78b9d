"""The async API's bridge: a write-calling service method runs as sync code in a greenlet (or
directly, when its write commits alone at once); the engine view's ``write`` returns the
operation's result, and the group writer batches only ``Batchable`` operations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import swarmstore.aio


def test_the_async_engine_views_write_returns_its_result(db_path: str) -> None:
    """Inside a bridged call the view's ``write`` returns what the operation returned (no future
    under a sync signature): code after it can use the value, alone or with others in a group."""
    from swarmstore.engine.bridge import spawn
    from swarmstore.errors import StorageError

    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            view = st._view

            def then_more(i: int) -> int:
                return view.write(lambda cur: i) * 10  # type: ignore[no-any-return]

            assert await spawn(then_more, 1) == 10  # (alone: committed at once)
            groups = st._writer.groups
            assert await asyncio.gather(*(spawn(then_more, i) for i in range(20))) == [i * 10 for i in range(20)]
            assert st._writer.groups - groups == 1, "the twenty writes shared one commit"
            with pytest.raises(StorageError, match="outside a bridged call"):
                view.write(lambda cur: 1)

    asyncio.run(main())


def test_only_batchable_operations_are_batched(db_path: str) -> None:
    """A group runs as one batch only if its operations are ``engine.base.Batchable`` of one kind
    and key: an operation that merely looks like one (a ``batch_key``, a ``run_batch``) runs alone."""
    from swarmstore.engine.base import Batchable
    from swarmstore.engine.bridge import spawn

    class Lookalike:
        batch_key = "same"

        def __call__(self, cur: Any) -> str:
            return "alone"

        @staticmethod
        def run_batch(cur: Any, ops: list[Any]) -> list[Any]:
            return ["batched"] * len(ops)

    class Real(Batchable):
        __slots__ = ()

        def __init__(self) -> None:
            self.batch_key = "same"

        def __call__(self, cur: Any) -> str:
            return "alone"

        @classmethod
        def run_batch(cls, cur: Any, ops: list[Any]) -> list[Any]:
            return ["batched"] * len(ops)

    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            view = st._view
            for op, want in ((Lookalike, "alone"), (Real, "batched")):
                batched = st._writer.batched
                got = await asyncio.gather(*(spawn(view.write, op()) for _ in range(5)))
                assert got == [want] * 5, op.__name__
                assert st._writer.batched - batched == (5 if want == "batched" else 0)

    asyncio.run(main())


def test_grouped_tail_writes_run_without_a_greenlet(db_path: str) -> None:
    """A gather of puts (methods ending with their one write) queues each write from the loop
    itself (LocalView.call_queued): one commit, each call its own result or its own error."""
    import swarmstore.engine.bridge as bridge
    from swarmstore.errors import Conflict

    async def main() -> None:
        async with swarmstore.aio.open(db_path) as st:
            await st.memory.put("ns:a", "x", 0)
            pool = getattr(bridge._local, "pool", [])
            idle = len(pool)
            groups = st._writer.groups
            calls = [st.memory.put("ns:a", f"k{i}", i) for i in range(20)]
            calls.append(st.memory.put("ns:a", "x", 1, expected_version=5))
            got = await asyncio.gather(*calls, return_exceptions=True)
            assert [m.value for m in got[:20]] == list(range(20))
            assert isinstance(got[20], Conflict)
            assert st._writer.groups - groups == 1, "the puts shared one commit"
            assert len(getattr(bridge._local, "pool", [])) == idle, "no greenlet served them"
            assert not st._view.queued
            assert (await st.memory.get("ns:a", "x")).value == 0

    asyncio.run(main())
