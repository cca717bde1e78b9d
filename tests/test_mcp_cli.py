"""``swarmstore mcp``'s refusals before it serves: the extra missing, malformed options."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import assert_error, cli

# The CLI with the mcp package made unimportable (None in sys.modules: what an uninstalled extra looks like).
WITHOUT_MCP = (
    "-c",
    "import sys; sys.modules['mcp'] = None; from swarmstore.cli import main; sys.argv[0] = 'swarmstore'; main()",
)


def test_without_the_extra_it_says_the_pip_command(tmp_path: Path) -> None:
    r = cli("mcp", "--actor", "agent:a", db=str(tmp_path / "s.db"), python=WITHOUT_MCP)
    assert_error(r, "pip install 'swarmstore[mcp]'")
    assert r.stdout == "" and not (tmp_path / "s.db").exists()


def test_malformed_options_are_one_error_line(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    assert_error(cli("mcp", "--actor", "agent:a", "--bind", "user", db=db), "bind", "name=value")
    assert_error(cli("mcp", "--actor", "agent:a", "--embedder", "fancy", db=db), "embedder")
    assert_error(cli("mcp", "--actor", "agent:a", "--read", "user:**x", db=db), "read")
    assert_error(cli("mcp", "--actor", "agent:a", "--http", "--token", "short", db=db), "token", "16")
    assert_error(cli("mcp", "--actor", "agent:a", "--sessions", "no-colon", db=db), "sessions")
    assert not Path(db).exists()  # (refused before the store was opened: no file made for nothing)
