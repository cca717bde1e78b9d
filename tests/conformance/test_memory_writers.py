"""Many writers of one memory key at once, each with a store (and connections) of its own: on
SQLite they take turns at the write lock, on PostgreSQL they really run at once and meet at the
key's row lock. Either way versions stay gapless and a conditional put never overwrites a version
it did not expect."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import swarmstore
from swarmstore.errors import Conflict

WRITERS = 4


def _run_together(fns: list[Callable[[], Any]]) -> list[Any]:
    """Run ``fns`` on threads released at once: each one's result (or the exception it raised)."""
    gate = threading.Barrier(len(fns))
    out: list[Any] = [None] * len(fns)

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = fns[i]()
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_concurrent_puts_of_one_key_get_one_version_each(store_url: str) -> None:
    stores = [swarmstore.open(store_url) for _ in range(WRITERS)]
    try:
        stores[0].memory.put("race", "k", "first", metadata={"m": 1})

        def writer(w: int) -> Callable[[], list[int]]:
            def run() -> list[int]:
                versions = []
                for i in range(25):
                    if i % 5 == 4:  # (the batch path as well: two versions in one put_many)
                        got = stores[w].memory.put_many([{"namespace": "race", "key": "k", "value": [w, i, j]}
                                                         for j in range(2)])  # fmt: skip
                        versions += [m.version for m in got]
                    else:
                        versions.append(stores[w].memory.put("race", "k", [w, i], actor=f"w{w}").version)
                return versions

            return run

        results = _run_together([writer(w) for w in range(WRITERS)])
        assert not [r for r in results if isinstance(r, Exception)]
        versions = sorted(v for r in results for v in r)
        assert versions == list(range(2, 2 + len(versions))), "every put got its own next version"
        history = stores[0].memory.history("race", "k")
        assert [m.version for m in history] == list(range(1, len(versions) + 2))
        assert all(m.metadata == {"m": 1} for m in history), "each version continued from the one before"
        assert stores[0].memory.get("race", "k").version == len(versions) + 1
        trail = stores[0].audit.list(entity="memory", entity_id="race/k", limit=1000)
        assert [e.detail["version"] for e in trail] == list(range(len(versions) + 1, 0, -1)), "one unbroken chain"
    finally:
        for s in stores:
            s.close()


def test_a_stale_conditional_writer_is_refused(store_url: str) -> None:
    stores = [swarmstore.open(store_url) for _ in range(WRITERS)]
    try:
        for rnd in range(10):
            key = f"k{rnd}"
            if rnd % 2:  # (a key that exists: all expect its version 1)
                stores[0].memory.put("cas", key, "seed")
            expected = rnd % 2
            results = _run_together(
                [lambda w=w, k=key, e=expected: stores[w].memory.put("cas", k, w, expected_version=e) for w in range(WRITERS)]
            )
            won = [r for r in results if not isinstance(r, Exception)]
            lost = [r for r in results if isinstance(r, Exception)]
            assert len(won) == 1 and all(isinstance(e, Conflict) for e in lost), results
            assert won[0].version == expected + 1
            assert stores[0].memory.get("cas", key).value == won[0].value
            assert len(stores[0].memory.history("cas", key)) == expected + 1
    finally:
        for s in stores:
            s.close()


def test_concurrent_deletes_and_restores_take_turns(store_url: str) -> None:
    stores = [swarmstore.open(store_url) for _ in range(WRITERS)]
    try:
        stores[0].memory.put("dr", "k", 1)
        deleted = _run_together([lambda w=w: stores[w].memory.delete("dr", "k") for w in range(WRITERS)])
        assert sum(r is None for r in deleted) == 1, "one delete wins, the others find nothing live"
        restored = _run_together([lambda w=w: stores[w].memory.restore("dr", "k") for w in range(WRITERS)])
        assert sum(not isinstance(r, Exception) for r in restored) == 1
        trail = [e.action for e in stores[0].audit.list(entity="memory", entity_id="dr/k")]
        assert trail == ["memory.restore", "memory.delete", "memory.put"]
    finally:
        for s in stores:
            s.close()
