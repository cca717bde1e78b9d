"""Stores hold private data: files 0600 and the CLI's folder 0700 whatever the umask; what exists keeps its mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import swarmstore
from cli_helpers import cli


def mode(p: str | Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture(params=[0o022, 0o000])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_database_wal_and_shm_are_created_0600(tmp_path: Path, umask: int) -> None:
    path = str(tmp_path / "swarm.db")
    with swarmstore.open(path) as st:
        st.memory.put("user:alice", "notes", "x" * 10_000)  # (a write: the WAL and SHM files exist now)
        assert os.path.exists(path + "-wal") and os.path.exists(path + "-shm")
        assert {p: mode(p) for p in (path, path + "-wal", path + "-shm")} == dict.fromkeys(
            (path, path + "-wal", path + "-shm"), 0o600
        )


def test_an_existing_file_keeps_its_mode(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "shared.db"
    path.touch()
    os.chmod(path, 0o644)
    with swarmstore.open(str(path)) as st:
        st.memory.put("team", "k", 1)
        assert mode(path) == 0o644
    assert mode(path) == 0o644


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_the_cli_folder_is_0700_and_its_store_0600(tmp_path: Path, mask: int) -> None:
    r = cli("mem", "put", "user:alice", "k", "1", cwd=tmp_path, umask=mask)
    assert r.returncode == 0, r.stderr
    assert mode(tmp_path / ".swarmstore") == 0o700
    assert mode(tmp_path / ".swarmstore" / "swarm.db") == 0o600
    deep = tmp_path / "a" / "b" / "s.db"
    assert cli("init", db=str(deep), umask=mask).returncode == 0
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b"), mode(deep)) == (0o700, 0o700, 0o600)


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o755)
    assert cli("init", db=str(folder / "s.db"), umask=0o022).returncode == 0
    assert mode(folder) == 0o755 and mode(folder / "s.db") == 0o600
