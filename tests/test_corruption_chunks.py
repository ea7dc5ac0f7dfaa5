"""The corruption evaluation works a chunk at a time: the same numbers as the whole set at once,
and never more than a chunk of the test split or of a corrupted set in memory."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from harness import batching
from harness.corruptions import generate, store
from harness.corruptions.evaluate import records, subset_indices
from harness.corruptions.scales import resolve
from harness.datasets import Dataset
from harness.datasets.lazy import ArrayRows, LazyImages
from harness.results import bits
from harness.spec import parse_spec

if importlib.util.find_spec("imagecorruptions") is None:  # the optional extra "corruptions"
    pytest.skip("imagecorruptions is not installed", allow_module_level=True)

BATCH = 16
CHUNK = 32  # 2 batches of 1x8x8 float32 inputs: CHUNK_BYTES below
N_IMAGES = 150  # 4 chunks of 32 and one of 22


class WatchedRows(ArrayRows):
    """An in-memory split that remembers the most rows one read asked for."""

    def __init__(self, array: np.ndarray) -> None:
        super().__init__(array)
        self.largest = 0

    def read(self, rows: np.ndarray) -> np.ndarray:
        self.largest = max(self.largest, len(rows))
        return super().read(rows)


def spec():
    section = {"names": ["gaussian_noise", "fog"], "severities": [1, 3], "n_images": N_IMAGES}
    return parse_spec({"name": "t", "eval_batch_size": BATCH, "corruptions": section})


def dataset(x: np.ndarray, y: np.ndarray) -> tuple[Dataset, WatchedRows]:
    """The 200 held-out inputs as a lazy uint8 test split (what the loaders give)."""
    rows = WatchedRows(np.round(x * 255).astype(np.uint8))
    lazy = LazyImages(rows)
    return Dataset("t", ("low", "mid", "high"), lazy, y, lazy, y), rows


def test_chunked_accuracy_is_the_whole_sets(held_out, one_thread, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    _, clf, x, y = held_out
    data, rows = dataset(x, y)
    monkeypatch.setattr(batching, "CHUNK_BYTES", 2 * BATCH * 4 * 64)
    assert batching.chunk_size(data.input_shape, BATCH) == CHUNK < N_IMAGES
    chunked = records(spec(), data, "baseline", clf)
    assert rows.largest == CHUNK  # the split was read a chunk at a time, never whole
    idx = subset_indices(spec().corruptions, y, spec().seed)
    whole_x = data.x_test[:]
    for r in chunked:  # the whole set corrupted and predicted at once
        xc = generate.corrupt(whole_x, r.corruption, r.severity, spec().seed)[idx]
        correct = clf.predict(xc, batch_size=BATCH).argmax(1) == y[idx]
        assert (r.n, r.accuracy, r.correct) == (N_IMAGES, np.mean(correct), bits.pack(correct))
    assert np.mean([r.accuracy for r in chunked]) > 0.5  # labels aligned: chance is 1/3
    monkeypatch.setattr(batching, "CHUNK_BYTES", 2**26)  # one chunk, and a fresh cache
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "one"))
    assert records(spec(), data, "baseline", clf) == chunked


def test_a_set_is_generated_and_read_back_in_chunks_of_at_most_the_size(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)
    rows = WatchedRows(rng.integers(0, 256, (40, 3, 16, 16), dtype=np.uint8))
    x, idx = LazyImages(rows), np.arange(3, 40, 2)  # 19 images
    key = store.digest(x, idx, 5)
    for _ in ("generated", "read from the cache"):
        sizes = [
            len(c)
            for c in store.corrupted(
                x, idx, "shot_noise", 2, 0, 5, key, resolve("auto", x.shape[1:])
            )
        ]
        assert sizes == [5, 5, 5, 4]
    assert rows.largest == 5
