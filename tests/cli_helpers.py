"""Running the CLI as a user does (a real subprocess) and checking how it fails."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parent.parent / "src")


def cli(
    *args: str,
    db: str | None = None,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
    umask: int | None = None,
    columns: int = 200,
    python: Sequence[str] = ("-m", "swarmstore.cli"),
) -> subprocess.CompletedProcess[str]:
    """``swarmstore ARGS [--db DB]`` in a subprocess that imports this checkout's swarmstore."""
    cmd = [*prefix, sys.executable, *python, *args]
    if db:
        cmd += ["--db", db]
    paths = [SRC, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    full_env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    full_env.pop("SWARMSTORE_URL", None)
    full_env.update(env or {})

    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120, preexec_fn=set_umask)


def assert_error(r: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exactly one stderr line, ``error: ...``, exit status 1; the line contains every needle."""
    lines = r.stderr.splitlines()
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def dump(db: str | Path) -> list[str]:
    """Every row of every table (a refused command must leave this unchanged). Without a WAL
    (no process has the store open) the file alone is read, leaving no -wal or -shm behind."""
    flag = "mode=ro" if os.path.exists(f"{db}-wal") else "immutable=1"
    conn = sqlite3.connect(f"file:{db}?{flag}", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def unprivileged() -> list[str]:
    """A command prefix under which file modes bind (root ignores them): drops root's
    capability to override them, or nothing when not root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file modes would not bind")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]
