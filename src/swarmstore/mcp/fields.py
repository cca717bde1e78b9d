"""The tool parameters' types and descriptions, written for the model that reads the tool list.

The JSON types here are loose on purpose: the store checks every argument itself
(``swarmstore.params``) and its InvalidInput message says exactly what is wrong.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

Namespace = Annotated[
    str,
    Field(
        description=(
            "Where a memory lives: segments of letters, digits, '_', '.', '-' joined by ':', from the broadest "
            "to the most specific, e.g. 'project:acme:decisions' or 'user:alice'. You may only read and write "
            "the namespaces your access rules allow (see the swarmstore://access resource)."
        )
    ),
]
Prefix = Annotated[
    str,
    Field(
        description=(
            "A namespace prefix on segment boundaries: 'project:acme' covers 'project:acme' and everything "
            "under it ('project:acme:decisions'...), never 'project:acme2'. '' means every namespace you may read."
        )
    ),
]
OptPrefix = Annotated[
    str | None, Field(description="Only search under this namespace prefix (null: everywhere you may read).")
]
Key = Annotated[
    str,
    Field(description="The entry's key inside its namespace, e.g. 'db-choice' (printable, at most 1024 characters)."),
]
Value = Annotated[Any, Field(description="Any JSON value: an object, array, string, number, true/false or null.")]
MemoryKind = Literal["semantic", "episodic", "procedural"]
MEMORY_KINDS = "semantic: facts and decisions; episodic: what happened; procedural: how to do things."
MemoryType = Annotated[MemoryKind, Field(description=MEMORY_KINDS)]
OptMemoryType = Annotated[MemoryKind | None, Field(description="Only entries of this type. " + MEMORY_KINDS)]
Metadata = Annotated[dict[str, Any] | None, Field(description="A JSON object of extra fields (optional).")]
Limit = Annotated[int, Field(description="How many items at most in this page (1 to 10000).")]
Cursor = Annotated[
    str | None,
    Field(
        description="To get the next page: the next_cursor of the previous answer, unchanged. Null for the first page."
    ),
]
Query = Annotated[str, Field(description="What to look for, in plain words.")]
K = Annotated[int, Field(description="How many hits at most (1 to 1000).")]
Mode = Annotated[
    Literal["keyword", "semantic", "hybrid"],
    Field(
        description=(
            "keyword: the words themselves (BM25); semantic: by meaning (needs the store's embedder); "
            "hybrid: by meaning with exact word matches lifted."
        )
    ),
]
Filters = Annotated[
    dict[str, Any] | None, Field(description="Only hits whose metadata has these exact key/value pairs.")
]
SessionId = Annotated[str, Field(description="A session's id, as returned by session_create or session_get.")]
TaskId = Annotated[str, Field(description="A task's id, as returned by task_submit, task_list or task_claim.")]
LeaseToken = Annotated[
    str,
    Field(
        description=(
            "The lease_token of your claim, exactly as task_claim returned it in the task. It proves you still "
            "hold the task: if your lease expired and the task was handed to someone else, the call fails with "
            "LeaseLost and you must stop working on it."
        )
    ),
]
LeaseSeconds = Annotated[
    float, Field(description="How long the lease lasts, in seconds, before the task may be given to another worker.")
]
