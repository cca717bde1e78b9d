"""Access rules: which namespaces, queues and sessions a scoped view may read and write.

A rule is a pattern over names whose segments are joined by ``:`` (``project:acme:decisions``):

- ``user:alice`` admits exactly ``user:alice`` (not ``user:alice2``, not ``user:alice:notes``);
- a ``*`` segment admits any one segment: ``project:*:decisions``;
- a last ``*`` segment admits one or more segments, everything under the rest:
  ``project:acme:*`` admits ``project:acme:x`` and ``project:acme:x:y``, not ``project:acme``;
- ``*`` alone admits every name.

``{name}`` placeholders (``session:{session_id}``) are filled once, when the view is made, from
its ``bind`` values (``{actor}`` is always bound); a value must be a plain namespace, so a
placeholder can only name, never widen a rule. Matching is segment-exact string comparison: there is no
``..``, no case folding and no normalisation, so no name outside a rule can look like one inside.

The same rule answers a point check (``admits``) and becomes SQL (``Grant.condition``,
``Grant.ranges``) that engines put inside their queries, so that listings and searches never
return what a view may not read, and a page is never short because of it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from .errors import InvalidInput
from .namespaces import SEP, check_namespace, children_range
from .validation import check_name

WILDCARD = "*"
TOP = "~"  # sorts after every namespace character: the end of the namespace key space
_AFTER_EXACT = ","  # sorts right before '-', the lowest namespace character: [ns, ns + ",") is {ns}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SEGMENT = "[^:]+"
_GLOB_SPECIAL = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class Pattern:
    """One rule: ``head`` segments (None: any one segment), then, if ``subtree``, one or more."""

    text: str
    head: tuple[str | None, ...]
    subtree: bool

    def admits(self, name: str) -> bool:
        """Whether ``name`` matches this rule, segment by segment: an inner ``*`` matches one
        non-empty segment; a last ``*``, whatever follows the ':' (the range the engines scan)."""
        if self.everything:
            return True
        parts = name.split(SEP)
        n = len(self.head)
        if len(parts) < n + 1 if self.subtree else len(parts) != n:
            return False
        return all(p if s is None else s == p for s, p in zip(self.head, parts, strict=False))

    @property
    def literal(self) -> str:
        """The segments before the first wildcard (every match starts with them)."""
        out = []
        for s in self.head:
            if s is None:
                break
            out.append(s)
        return SEP.join(out)

    @property
    def exact(self) -> bool:
        """A rule without wildcards admits one name: itself."""
        return not self.subtree and None not in self.head

    @property
    def everything(self) -> bool:
        return self.subtree and not self.head

    def glob(self) -> str | None:
        """A GLOB every match passes, for SQLite to test in C before the ``regex`` (a Python
        function): None when the rule has no inner wildcard. Its ``?*`` may also span ':', so it
        admits a few names too many, unless their count of ':' is the rule's (see ``colons``)."""
        if None not in self.head:
            return None
        body = SEP.join("?*" if s is None else _GLOB_SPECIAL.sub(r"[\g<0>]", s) for s in self.head)
        return body + (":*" if self.subtree else "")

    @property
    def colons(self) -> int | None:
        """For a rule without a last ``*``: how many ':' its names hold. A name with that many that
        passes ``glob`` matches exactly (each ``?*`` then spans one non-empty segment), so SQLite
        needs no regex for it. None for a rule with a last ``*`` (its tail may hold any)."""
        return None if self.subtree else len(self.head) - 1

    def regex(self) -> str | None:
        """A regular expression (the same in Python and PostgreSQL) for what a range of
        ``literal`` cannot tell by itself: None when the rule has no inner wildcard."""
        if None not in self.head:
            return None
        body = SEP.join(_SEGMENT if s is None else re.escape(s) for s in self.head)
        return rf"\A{body}{':.*' if self.subtree else ''}\Z"


def parse_pattern(text: object, bind: Mapping[str, str], field: str, names: bool = False) -> Pattern:
    """A rule from its text, placeholders filled from ``bind``; InvalidInput if malformed.
    ``names``: the rule is over plain names (queues, users), not namespaces."""
    if not isinstance(text, str):
        raise InvalidInput(field, f"expected a pattern string, got {type(text).__name__}")

    def fill(m: re.Match[str]) -> str:
        if m.group(1) not in bind:
            raise InvalidInput(field, f"{text!r}: no value for {{{m.group(1)}}} (pass it in bind=)")
        return bind[m.group(1)]

    filled = _PLACEHOLDER.sub(fill, text)
    parts = filled.split(SEP)
    if any(p == "" for p in parts):
        raise InvalidInput(field, f"{text!r}: empty segment")
    subtree = parts[-1] == WILDCARD
    head = parts[:-1] if subtree else parts
    for p in head:
        if p != WILDCARD and (WILDCARD in p or "{" in p or "}" in p):
            raise InvalidInput(field, f"{text!r}: '*' stands for whole segments only; braces only around a placeholder")
    literal = SEP.join(p for p in head if p != WILDCARD)
    if literal:
        (check_name if names else check_namespace)(literal, field)
    return Pattern(filled, tuple(None if p == WILDCARD else p for p in head), subtree)


def check_bind(bind: Mapping[str, Any] | None, actor: str) -> dict[str, str]:
    """Placeholder values: each a name without '*' or braces, so that filling one in can only
    name, never widen (a namespace rule then checks the namespace it makes). ``{actor}`` is the
    actor, if it is such a name (else it stays unbound); it cannot be bound to anything else."""
    out: dict[str, str] = {} if _widens(actor) else {"actor": actor}
    for name, value in (bind or {}).items():
        if not isinstance(name, str) or _PLACEHOLDER.fullmatch("{" + name + "}") is None:
            raise InvalidInput("bind", f"{name!r} is not a placeholder name")
        if name == "actor":
            raise InvalidInput("bind", "{actor} is the view's actor: it cannot be bound")
        value = check_name(value, f"bind[{name}]")
        if _widens(value):
            raise InvalidInput(f"bind[{name}]", f"{value!r}: no '*', braces or empty segments in a placeholder's value")
        out[name] = value
    return out


def _widens(value: str) -> bool:
    """Whether ``value``, filled into a rule, could change what the rule means."""
    return any(c in value for c in "*{}") or "" in value.split(SEP)


class Range(NamedTuple):
    """A half-open range of namespaces, ``lo`` to ``hi``; ``regex``, if any, must match too
    (``glob``, if any, passes every name ``regex`` matches: a cheap first filter)."""

    lo: str
    hi: str
    regex: str | None
    glob: str | None = None
    colons: int | None = None  # with ``glob``: exact without ``regex`` (see Pattern.colons)


def _span(p: Pattern) -> tuple[str, str]:
    """The range of namespaces holding every match of ``p`` (maybe more: see ``regex``)."""
    if p.exact:
        return p.text, p.text + _AFTER_EXACT
    lit = p.literal
    return children_range(lit) if lit else ("", TOP)


def _prefix_spans(prefix: str) -> list[tuple[str, str]]:
    if not prefix:
        return [("", TOP)]
    return [(prefix, prefix + _AFTER_EXACT), children_range(prefix)]


@dataclass(frozen=True, slots=True)
class Grant:
    """The rules of one kind of access (reading namespaces, writing them, using queues)."""

    patterns: tuple[Pattern, ...]

    def admits(self, name: str) -> bool:
        return any(p.admits(name) for p in self.patterns)

    @property
    def everything(self) -> bool:
        return any(p.everything for p in self.patterns)

    def covers_subtree(self, prefix: str) -> bool:
        """Whether every namespace ``prefix`` covers (itself and everything under it) is admitted."""
        if self.everything:
            return True
        # A rule ending in '*' that admits ``prefix`` admits every namespace under it too.
        return bool(prefix) and any(p.subtree and p.admits(prefix) for p in self.patterns)

    def __str__(self) -> str:
        return ", ".join(p.text for p in self.patterns) or "(none)"

    def condition(self, column: str, regexp: str) -> tuple[str, list[Any]]:
        """SQL true for the names this grant admits (``?`` placeholders, their values):
        ``regexp`` is the engine's regular expression operator."""
        if self.everything:
            return "1 = 1", []
        terms: list[str] = []
        params: list[Any] = []
        # A range means code point order: PostgreSQL compares in the column's collation, which a
        # database's default (ICU, say) may make linguistic, where ';' sorts before ':'.
        ordered = f'{column} COLLATE "C"' if regexp == "~" else column
        exact = [p.text for p in self.patterns if p.exact]
        if exact:
            terms.append(f"{column} IN ({', '.join('?' * len(exact))})")
            params += exact
        for p in self.patterns:
            if p.exact:
                continue
            parts = []
            lit = p.literal
            if lit:
                lo, hi = children_range(lit)
                parts.append(f"{ordered} >= ? AND {ordered} < ?")
                params += [lo, hi]
            rx = p.regex()
            if rx is not None:
                if regexp == "REGEXP":  # (SQLite: GLOB in C first, the Python regex if still needed)
                    parts.append(f"{column} GLOB ?")
                    params.append(p.glob())
                    if p.colons is not None:
                        parts.append(f"length({column}) - length(replace({column}, ':', '')) = ?")
                        params.append(p.colons)
                        rx = None
                if rx is not None:
                    parts.append(f"{column} {regexp} ?")
                    params.append(rx)
            terms.append("(" + " AND ".join(parts) + ")")
        return ("(" + " OR ".join(terms) + ")" if terms else "1 = 0"), params

    def ranges(self, prefix: str) -> list[Range]:
        """The namespaces under ``prefix`` (segment-exact, "" for all) that this grant admits, as
        ordered, disjoint ranges: a listing scans each in turn, in namespace order."""
        return _ranges(self, prefix)

    def _ranges(self, prefix: str) -> list[Range]:
        pieces: list[tuple[str, str, Pattern]] = []
        for p in self.patterns:
            lo, hi = _span(p)
            for plo, phi in _prefix_spans(prefix):
                a, b = max(lo, plo), min(hi, phi)
                if a < b:
                    pieces.append((a, b, p))
        bounds = sorted({x for a, b, _ in pieces for x in (a, b)})
        out: list[Range] = []
        for a, b in itertools.pairwise(bounds):
            over = {p for lo, hi, p in pieces if lo <= a and b <= hi}
            if not over:
                continue
            if any(p.regex() is None for p in over):
                regex, glob, colons = None, None, None
            elif len(over) == 1:
                [p] = over
                regex, glob, colons = p.regex(), p.glob(), p.colons
            else:
                regex, glob, colons = "|".join(sorted(f"(?:{p.regex()})" for p in over)), None, None
            if out and out[-1].hi == a and out[-1].regex == regex:
                out[-1] = Range(out[-1].lo, b, regex, glob, colons)
            else:
                out.append(Range(a, b, regex, glob, colons))
        return out


@lru_cache(maxsize=1024)
def _ranges(g: Grant, prefix: str) -> list[Range]:
    return g._ranges(prefix)  # (a view lists under few prefixes, often: worked out once each)


def grant(patterns: Iterable[object] | str | None, bind: Mapping[str, str], field: str, names: bool = False) -> Grant:
    """A Grant from rule texts (one string or several)."""
    if patterns is None:
        return Grant(())
    items = [patterns] if isinstance(patterns, str) else list(patterns)
    return Grant(tuple(parse_pattern(t, bind, f"{field}[{i}]", names) for i, t in enumerate(items)))


@dataclass(frozen=True, slots=True)
class SessionGrant:
    """Which sessions a view may use: rules ``app:user`` (the app exact or ``*``; the user a
    pattern, so ``myapp:*`` is every user of ``myapp``)."""

    rules: tuple[tuple[str | None, Pattern], ...]

    def admits(self, app: str, user: str) -> bool:
        return any((a is None or a == app) and u.admits(user) for a, u in self.rules)

    def whole_app(self, app: str) -> bool:
        """Whether every user's sessions of ``app`` are admitted (needed to change its ``app:``
        state, which every session of the app shares)."""
        return any((a is None or a == app) and u.everything for a, u in self.rules)

    def __str__(self) -> str:
        return ", ".join(f"{a or '*'}:{u.text}" for a, u in self.rules) or "(none)"

    def condition(self, app_column: str, user_column: str, regexp: str) -> tuple[str, list[Any]]:
        """SQL true for the sessions admitted (see ``Grant.condition``)."""
        terms, params = [], []
        for app, user in self.rules:
            cond, values = Grant((user,)).condition(user_column, regexp)
            if app is not None:
                cond, values = f"({app_column} = ? AND {cond})", [app, *values]
            terms.append(cond)
            params += values
        return ("(" + " OR ".join(terms) + ")" if terms else "1 = 0"), params


def session_grant(rules: Iterable[object] | str | None, bind: Mapping[str, str]) -> SessionGrant:
    """A SessionGrant from ``app:user`` rule texts."""
    if rules is None:
        return SessionGrant(())
    items = [rules] if isinstance(rules, str) else list(rules)
    out = []
    for i, text in enumerate(items):
        field = f"sessions[{i}]"
        if not isinstance(text, str) or SEP not in text:
            raise InvalidInput(field, f"expected 'app:user' (either may be '*'), got {text!r}")
        app, user = text.split(SEP, 1)
        if _PLACEHOLDER.fullmatch(app):  # ({app}: filled after the split, so a value cannot move it)
            app = _PLACEHOLDER.sub(lambda m: bind.get(m.group(1), m.group(0)), app)
            if SEP in app or _PLACEHOLDER.fullmatch(app):
                raise InvalidInput(field, f"{text!r}: the app placeholder must be bound to a name without ':'")
        if app != WILDCARD:
            check_name(app, field)
        out.append((None if app == WILDCARD else app, parse_pattern(user, bind, field, names=True)))
    return SessionGrant(tuple(out))


@lru_cache(maxsize=256)
def compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def sql_regexp(*args: Any) -> bool:
    """SQLite's ``value REGEXP regex``, called as ``regexp(regex, value)`` (registered on each
    connection by the SQLite engine)."""
    regex, value = args
    return isinstance(value, str) and compiled(regex).search(value) is not None
