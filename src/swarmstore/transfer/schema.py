"""What a copy knows about a store's tables: which columns hold JSON, which tables are the engine's
own bookkeeping, and the order tables are filled in. Everything else (columns, primary keys) is read
from each engine's catalog, so a table or column added by a migration is copied without a change
here, and a schema drift between the two ends is refused before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from .. import errors

# JSON columns (TEXT on SQLite, jsonb on PostgreSQL): compared parsed, written compact on SQLite.
JSON_COLUMNS: Mapping[str, frozenset[str]] = {
    "sessions": frozenset({"state", "temp", "metadata"}),
    "user_state": frozenset({"state"}),
    "app_state": frozenset({"state"}),
    "memories": frozenset({"value", "metadata"}),
    "audit": frozenset({"detail", "snapshot"}),
    "tasks": frozenset({"payload", "result", "deps", "metadata"}),
    "agents": frozenset({"metadata"}),
}

# Each engine's own bookkeeping: made by its migrations, never copied.
ENGINE_TABLES = frozenset({"schema_version"})
# The search index is derived from memories and document chunks (and its tables differ between
# engines: FTS5 on SQLite): not copied; the destination's items are rebuilt, their texts and
# vectors indexed again by its next search (or ``swarmstore reindex``).
DERIVED_PREFIX = "search_"


def is_copied(table: str) -> bool:
    """Whether ``copy`` copies this table (neither engine bookkeeping nor derived)."""
    return table not in ENGINE_TABLES and not table.startswith(DERIVED_PREFIX)

# Referenced tables before the tables that point at them (an engine may declare foreign keys);
# tables not listed follow, by name.
FILL_ORDER = ("sessions", "user_state", "app_state", "agents", "tasks", "task_deps", "memories", "audit")


class TableInfo(NamedTuple):
    """A table as an engine's catalog describes it."""

    name: str
    columns: tuple[str, ...]  # in the table's own order
    pk: tuple[str, ...]  # primary key columns, in key order
    json: frozenset[str]  # columns the engine itself types as JSON (jsonb); empty on SQLite


class Plan(NamedTuple):
    """One table to copy: the columns read and written (the source's order) and the JSON ones."""

    name: str
    columns: tuple[str, ...]
    pk: tuple[str, ...]
    json: frozenset[str]


def plan(source: Mapping[str, TableInfo], target: Mapping[str, TableInfo]) -> list[Plan]:
    """The tables to copy, in fill order. Both ends must have the same tables, columns and keys:
    anything else is refused (a store of another schema version, or a damaged one)."""
    src = {k: v for k, v in source.items() if is_copied(k)}
    dst = {k: v for k, v in target.items() if is_copied(k)}
    if set(src) != set(dst):
        only_src, only_dst = sorted(set(src) - set(dst)), sorted(set(dst) - set(src))
        raise errors.SchemaError(
            "the two stores have different tables "
            f"(only in the source: {', '.join(only_src) or 'none'}; only in the destination: "
            f"{', '.join(only_dst) or 'none'}): are both at the same swarmstore schema version?"
        )
    out = []
    for name in sorted(src, key=lambda n: (FILL_ORDER.index(n) if n in FILL_ORDER else len(FILL_ORDER), n)):
        s, d = src[name], dst[name]
        if set(s.columns) != set(d.columns):
            raise errors.SchemaError(
                f"table {name} has different columns in the two stores "
                f"(source: {', '.join(sorted(s.columns))}; destination: {', '.join(sorted(d.columns))})"
            )
        if s.pk != d.pk or not s.pk:
            raise errors.SchemaError(f"table {name} has different or no primary keys ({s.pk} and {d.pk})")
        json = JSON_COLUMNS.get(name, frozenset()) | s.json | d.json
        out.append(Plan(name, s.columns, s.pk, json))
    return out
