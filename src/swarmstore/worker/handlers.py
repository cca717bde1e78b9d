"""Handlers: how many arguments one takes, and loading one by name (``swarmstore worker --handler``)."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput


def takes_context(handler: Callable[..., Any]) -> bool:
    """True if ``handler`` takes ``(task, ctx)`` rather than ``(task)``."""
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def load_handler(spec: str) -> Callable[..., Any]:
    """``module:function`` -> the function (for ``swarmstore worker --handler``).

    The module is looked up as ``python -m`` would: the current directory comes first on the path,
    unless Python runs with ``-P`` / ``PYTHONSAFEPATH`` (as the demo starts its workers)."""
    import importlib
    import sys

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InvalidInput("handler", f"{spec!r}: expected module:function")
    if not sys.flags.safe_path:
        cwd = os.getcwd()
        if not any(p in ("", cwd) for p in sys.path):  # (a console script has its bin/ there instead)
            sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput("handler", f"{spec!r}: {exc}") from None
    except Exception as exc:  # (the module itself failed as it was imported)
        raise InvalidInput(
            "handler", f"{spec!r}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from None
    if not callable(obj):
        raise InvalidInput("handler", f"{spec!r} is not callable")
    return obj  # type: ignore[no-any-return]
