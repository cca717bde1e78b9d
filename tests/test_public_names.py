"""The package's public names: what ``__all__`` promises can be imported."""

from __future__ import annotations

import subprocess
import sys

import swarmstore


def test_star_import_gives_every_public_name() -> None:
    # In a fresh interpreter: `from swarmstore import *` fails if __all__ names anything missing.
    code = "from swarmstore import *; import swarmstore; print(len(swarmstore.__all__))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == len(swarmstore.__all__)


def test_every_public_name_is_bound() -> None:
    missing = [name for name in swarmstore.__all__ if not hasattr(swarmstore, name)]
    assert missing == []
