"""Search over memories and documents. Importing this package loads no model and no numpy."""

from __future__ import annotations

from swarmstore.search.embedder import DefaultEmbedder, Embedder, default_embedder

__all__ = ["DefaultEmbedder", "Embedder", "default_embedder"]
