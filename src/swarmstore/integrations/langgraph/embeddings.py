"""A LangChain ``Embeddings`` object (or a plain function) as a swarmstore ``Embedder``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LangChainEmbedder:
    """Wraps what LangGraph's ``IndexConfig["embed"]`` names; vectors are L2-normalised float32 rows."""

    def __init__(self, embed: Any, dims: int, name: str | None = None) -> None:
        if isinstance(embed, str):
            from langchain.embeddings import init_embeddings  # type: ignore[import-not-found, unused-ignore]

            embed = init_embeddings(embed)
        self._embed = embed
        self._dim = int(dims)
        self._name = name or f"langchain:{type(embed).__name__}:{self._dim}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> Any:
        import numpy as np  # (the embed extra's; only a store with an index needs it)

        fn = getattr(self._embed, "embed_documents", self._embed)
        rows = np.asarray(fn(list(texts)), dtype=np.float32).reshape(len(texts), self._dim)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return rows / norms
