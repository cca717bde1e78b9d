"""The framework adapters beside the frameworks' own SQLite backends (``--only frameworks``):
each adapter's part runs when its framework is installed (its extra), and says so when not."""

from __future__ import annotations

import importlib
import importlib.util

from .harness import Result

# (the bench module in bench/integrations/, the framework package it needs, its extra)
PARTS = (
    ("langgraph", "langgraph", "langgraph"),
    ("adk", "google.adk", "adk"),
    ("openai_agents", "agents", "openai-agents"),
)


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except ModuleNotFoundError:  # (a dotted name whose parent is missing)
        return False


def run(quick: bool, workdir: str) -> list[Result]:
    out: list[Result] = []
    for module, package, extra in PARTS:
        if not _installed(package) or not _installed(f"swarmstore.bench.integrations.{module}"):
            print(f"({module}: not installed: pip install 'swarmstore[{extra}]')")
            continue
        part = importlib.import_module(f"swarmstore.bench.integrations.{module}")
        results = part.run(quick, workdir)
        for r in results:
            r.extra["framework"] = module
        out += results
    return out
