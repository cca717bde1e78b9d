"""Real processes racing on one file: event sequence numbers and optimistic memory updates."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import swarmstore
from swarmstore.errors import Conflict

WORKER = textwrap.dedent(
    """
    import sys, swarmstore
    from swarmstore.errors import Conflict
    path, sid, me, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    st = swarmstore.open(path)
    seqs, wins = [], 0
    for i in range(n):
        seqs.append(st.sessions.append_event(sid, "tick", me, {"i": i}).seq)
        # read-modify-write of a shared counter with optimistic concurrency: retry on Conflict
        while True:
            cur = st.memory.get("shared", "counter")
            try:
                st.memory.put("shared", "counter", cur.value + 1, expected_version=cur.version, actor=me)
                wins += 1
                break
            except Conflict:
                continue
    print(",".join(map(str, seqs)), wins)
    """
)


def test_four_processes_append_and_update(db_path: str) -> None:
    n, procs = 150, 4
    with swarmstore.open(db_path) as st:
        sid = st.sessions.create("app", "u").id
        st.memory.put("shared", "counter", 0)
    running = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_path, sid, f"w{i}", str(n)], stdout=subprocess.PIPE, text=True
        )
        for i in range(procs)
    ]
    seqs: list[int] = []
    wins = 0
    for p in running:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        s, w = out.split()
        seqs += [int(x) for x in s.split(",")]
        wins += int(w)
    total = n * procs
    assert sorted(seqs) == list(range(1, total + 1)), "no lost or duplicated sequence numbers"
    with swarmstore.open(db_path) as st:
        events = []
        after = 0
        while True:
            page = st.sessions.events(sid, after=after, limit=1000)
            events += page.items
            if page.next_cursor is None:
                break
            after = int(page.next_cursor)
        assert [e.seq for e in events] == list(range(1, total + 1))
        assert {e.actor for e in events} == {f"w{i}" for i in range(procs)}
        counter = st.memory.get("shared", "counter")
        assert wins == total
        assert counter.value == total, "no lost update"
        assert counter.version == total + 1
        assert len(st.memory.history("shared", "counter")) == total + 1
        try:
            st.memory.put("shared", "counter", -1, expected_version=1)
            raise AssertionError("stale expected_version accepted")
        except Conflict:
            pass
