"""The public boundary: ``@checked`` runs each parameter's check (``params.py``) on every call.

The checks are read from the method's annotations once, at import, and compiled into a wrapper
that does just them, in order, and then calls the method: a call costs a function call and the
checks, not a walk over its signature. An argument left at its default is not checked (defaults
are valid by construction; ``None`` defaults mean "not given"). The sync ``Store``, the
``AsyncStore`` (which runs the same methods), the CLI and the servers all pass through here.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from .errors import InvalidInput
from .params import Check

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")


def _check_of(annotation: Any) -> Check | None:
    """The Check of ``Annotated[T, Check]``, also inside ``X | None``."""
    if typing.get_origin(annotation) is typing.Annotated:
        return next((m for m in annotation.__metadata__ if isinstance(m, Check)), None)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found = [c for a in typing.get_args(annotation) if (c := _check_of(a)) is not None]
        return found[0] if found else None
    return None


def parameter_checks(method: Callable[..., Any]) -> dict[str, Check]:
    """Each checked parameter of ``method`` and its Check, in signature order."""
    module = sys.modules[method.__module__]
    out = {}
    for name, p in inspect.signature(method).parameters.items():
        ann = p.annotation
        if isinstance(ann, str):
            ann = eval(ann, vars(module))  # what typing.get_type_hints does, one parameter at a time
        check = _check_of(ann)
        if check is not None:
            out[name] = check
    return out


def checked(method: F) -> F:
    """Check the arguments of a public method against its parameter types before it runs."""
    return _compiled(method, method)  # type: ignore[return-value]


def checked_as(
    model: Callable[Concatenate[Any, P], R], **defaults: Any
) -> Callable[[Callable[..., Any]], Callable[Concatenate[Any, P], R]]:
    """The decorated method takes ``model``'s parameters (names, kinds, defaults), checked as
    ``model`` checks them, and gets them as ``model`` would: the same API in front of other code
    (a scoped view's methods). Its own signature need only accept them (``**options`` may).
    ``defaults`` gives parameters that ``model`` requires a default here (None: "not given")."""

    def wrap(fn: Callable[..., Any]) -> Callable[Concatenate[Any, P], R]:
        wrapper = _compiled(getattr(model, "__wrapped__", model), fn, defaults)
        wrapper.__doc__ = fn.__doc__ or model.__doc__
        return wrapper

    return wrap


def _compiled(
    model: Callable[..., Any], target: Callable[..., Any], defaults: Mapping[str, Any] | None = None
) -> Callable[..., Any]:
    """A function with ``model``'s signature (but ``defaults``) that checks its arguments and
    calls ``target``."""
    checks = parameter_checks(model)
    sig = inspect.signature(model)
    if defaults:
        sig = sig.replace(parameters=[p.replace(default=defaults.get(n, p.default)) for n, p in sig.parameters.items()])
    env: dict[str, Any] = {"_method": target}
    head, call, body = [], [], []
    star = False
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            raise TypeError(f"@checked {model.__qualname__}: *args, **kwargs and positional-only are not supported")
        default = f"_d_{name}"
        if p.default is not p.empty:
            env[default] = p.default
        if p.kind is p.KEYWORD_ONLY and not star:
            head.append("*")
            star = True
        head.append(name if p.default is p.empty else f"{name}={default}")
        call.append(name if p.kind is not p.KEYWORD_ONLY else f"{name}={name}")
        if name in checks:
            env[f"_c_{name}"] = checks[name].fn
            line = f"{name} = _c_{name}({name}, {name!r})"
            body.append(line if p.default is p.empty else f"if {name} is not {default}: {line}")
    src = f"def {target.__name__}({', '.join(head)}):\n"
    src += "".join(f"    {line}\n" for line in body)
    src += f"    return _method({', '.join(call)})\n"
    exec(compile(src, f"<checked {target.__qualname__}>", "exec"), env)
    wrapper = functools.wraps(target)(env[target.__name__])
    wrapper.__wrapped__ = model  # (what inspect.signature shows: the model's parameters)
    wrapper.__checks__ = checks  # type: ignore[attr-defined]
    return wrapper


def check_fields(
    item: object,
    method: Callable[..., Any],
    required: tuple[str, ...],
    extra: Mapping[str, Check] | None = None,
    exclude: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Check one item of a batch (``put_many``, ``submit_many``) as the keyword arguments of ``method``.

    Returns the item as a dict with every present field checked; unknown fields and missing
    ``required`` ones are InvalidInput. ``extra`` adds fields of the batch only (``ref``),
    ``exclude`` drops parameters an item may not set (``actor``: the batch's own).
    """
    if not isinstance(item, Mapping):
        raise InvalidInput("", f"expected a mapping, got {type(item).__name__}")
    checks, defaults = _fields_of(method, tuple((extra or {}).items()), exclude)
    unknown = [k for k in item if k not in checks and k not in defaults]
    if unknown:
        raise InvalidInput("", f"unknown field(s): {', '.join(sorted(map(str, unknown)))[:200]}")
    for name in required:
        if name not in item:
            raise InvalidInput(name, "is required")
    out = dict(item)
    for name, value in out.items():
        check = checks.get(name)
        if check is not None and value is not defaults.get(name, _NO_DEFAULT):
            out[name] = check.fn(value, name)
    return out


_NO_DEFAULT = object()


@functools.cache
def _fields_of(
    method: Callable[..., Any], extra: tuple[tuple[str, Check], ...], exclude: tuple[str, ...]
) -> tuple[dict[str, Check], dict[str, Any]]:
    """A batch item's allowed fields: their checks, and the defaults (every allowed field has one
    entry in one of the two maps, at least)."""
    params = {n: p for n, p in inspect.signature(method).parameters.items() if n != "self" and n not in exclude}
    checks = {n: c for n, c in method.__checks__.items() if n in params}  # type: ignore[attr-defined]
    checks.update(extra)
    defaults = {n: (_NO_DEFAULT if p.default is p.empty else p.default) for n, p in params.items()}
    return checks, defaults
