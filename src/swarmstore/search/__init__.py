"""Documents and search: chunking, searchable text, query building, embedders and ranking.

Importing this package loads no model and no numpy: the embedder imports its extra on first use.
"""

from __future__ import annotations

from swarmstore.search.embedder import DefaultEmbedder, Embedder, default_embedder

__all__ = ["DefaultEmbedder", "Embedder", "default_embedder"]
