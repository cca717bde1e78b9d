"""The document operations every engine implements (``engine.documents``), and their rows.

A document is a text under an id, with its sha256 and its chunks; each chunk is an item of the
search index (``engine.search``), written in the document's transaction with its audit row.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .audit import AuditRecord

if TYPE_CHECKING:
    from ...access import Grant

DocumentRow = tuple[
    str, str, str | None, str | None, str, str, str, int, str, str | None, str | None, str | None, str | None, int, int
]  # fmt: skip
"""A document: ``(id, namespace, title, type, metadata, sha256, text, chunks, status, error,
origin, created_by, updated_by, created_at, updated_at)``; metadata as JSON text, times in µs."""


class ChunkRow(NamedTuple):
    """One chunk of a document."""

    document: str
    seq: int
    heading: str
    text: str
    start: int
    end: int


class NewChunk(NamedTuple):
    """A chunk to write, with its vector when the caller embedded it already (float32 bytes)."""

    heading: str
    text: str
    start: int
    end: int
    text_hash: bytes
    vector: bytes | None


class DocumentWrite(NamedTuple):
    """A document to add or replace (its chunks come alongside)."""

    id: str
    namespace: str
    title: str | None
    type: str | None
    metadata: str  # JSON text
    sha256: str
    text: str
    status: str  # "pending", "indexed" or "failed"
    error: str | None
    origin: str | None  # the folder it was synced from (absolute path), or None
    actor: str | None


def document_record(
    now: int, actor: str | None, action: str, doc_id: str, namespace: str, detail: dict[str, Any]
) -> AuditRecord:
    """A document change's audit row (every engine's)."""
    return tuple.__new__(
        AuditRecord, (now, actor, action, "document", doc_id, namespace or None, detail, None, None, None)
    )


class DocumentOps(Protocol):
    """Documents. Operations with ``tx`` run in the caller's write transaction."""

    def get(self, doc_id: str) -> DocumentRow | None: ...

    def list(
        self, prefix: str, type: str | None, after: str | None, limit: int, allowed: Grant | None = None
    ) -> builtins.list[DocumentRow]:
        """Documents whose id starts with ``prefix``, in id order, after ``after``; only those whose
        namespace ``allowed`` admits, if given (a scoped view's)."""
        ...

    def chunks(self, doc_id: str) -> builtins.list[ChunkRow]: ...

    def chunk(self, doc_id: str, seq: int) -> ChunkRow | None: ...

    def read_many(self, keys: Sequence[tuple[str, int]]) -> builtins.list[tuple[DocumentRow, ChunkRow]]:
        """The documents and chunks of (document id, seq) pairs that exist (any order)."""
        ...

    def hashes(self, origin: str) -> dict[str, str]:
        """Ids and sha256 of the documents synced from ``origin``."""
        ...

    def write(self, tx: Any, doc: DocumentWrite, chunks: Sequence[NewChunk], now: int) -> bool:
        """Add the document, or replace it with its chunks, search items and vectors, with its
        audit row (``document.add`` / ``document.update``). False, having written nothing, when
        it exists with the same sha256, namespace, title, type, metadata and origin."""
        ...

    def remove(self, tx: Any, doc_id: str, now: int, actor: str | None) -> bool:
        """Remove a document, its chunks and their search items, with its audit row: False if absent."""
        ...

    def refresh_status(self, tx: Any, doc_ids: Sequence[str], error: str | None) -> None:
        """Set the documents' status from their chunks' vectors: ``indexed`` when all have one;
        otherwise ``failed`` with ``error`` if given, else ``pending``."""
        ...
