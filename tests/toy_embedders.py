"""Embedders written for tests, through the public ``Embedder`` protocol (a user's own model plugs
in the same way): deterministic, instant, with what they embedded counted."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np


class WordsEmbedder:
    """Bag of words hashed into ``dim`` buckets, L2-normalised: texts sharing words are close."""

    def __init__(self, dim: int = 64, name: str = "test-words") -> None:
        self.name = name
        self.dim = dim
        self.embedded: list[str] = []
        self.fail_with: Exception | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_with is not None:
            raise self.fail_with
        self.embedded += texts
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
        return out
