"""The corruption analysis of one model: its accuracy under each corruption and severity."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.batching import chunk_size, chunks
from harness.corruptions import backend, cifar_c, reference, store
from harness.corruptions.catalog import family
from harness.corruptions.scales import Scale, resolve
from harness.datasets import Dataset, ImageArray
from harness.datasets.subset import stratified_indices
from harness.errors import HarnessError
from harness.results import bits
from harness.results.corruption import CorruptionAccuracy, CorruptionReference
from harness.spec import Spec
from harness.spec.corruption import CorruptionSpec

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier

Chunks = Iterator[tuple[np.ndarray, np.ndarray]]  # (images, labels) of one set, chunk by chunk


def scale_of(cs: CorruptionSpec, shape: tuple[int, ...]) -> Scale | None:
    """Whose parameters generate the sets, for images of ``shape`` (C, H, W); None: read from
    ``cs.root``, as published."""
    return None if cs.root else resolve(cs.parameters, shape)


def corrupted_sets(
    cs: CorruptionSpec, x: ImageArray, y: np.ndarray, seed: int, size: int
) -> Iterator[tuple[str, int, Chunks]]:
    """(corruption, severity, chunks) for every pair the section asks for: read from
    ``cs.root`` (a CIFAR-C folder: its first ``n_images``, in the published order) or generated
    from a stratified ``n_images`` of (x, y) (the test set's class balance; each image seeded
    by its test index) with ``scale_of``'s parameters. Each set comes ``size`` images at a time,
    read (from the lazy split or the cache) only when its turn comes: neither the split nor a
    corrupted set is held whole."""
    if cs.root:
        for name in cs.corruptions:
            for s in cs.severities:
                yield name, s, cifar_c.chunks(cs.root, name, s, cs.n_images, size)
        return
    idx = subset_indices(cs, y, seed)
    key = store.digest(x, idx, size)  # one pass over the subset, shared by every set
    scale = resolve(cs.parameters, x.shape[1:])
    for name in cs.corruptions:
        for s in cs.severities:
            images = store.corrupted(x, idx, name, s, seed, size, key, scale)
            yield name, s, zip(images, (y[idx[c]] for c in chunks(len(idx), size)), strict=True)


def subset_indices(cs: CorruptionSpec, y: np.ndarray, seed: int) -> np.ndarray:
    """The test indices corrupted: a stratified random ``n_images`` (sorted), else all."""
    return stratified_indices(y, cs.n_images, seed)


def accuracies(
    role: str,
    predict: Callable[[np.ndarray], np.ndarray],
    sets: Iterable[tuple[str, int, Chunks]],
    source: str,
    parameters: str = "",
) -> list[CorruptionAccuracy]:
    """``role``'s accuracy on every corrupted set; ``predict``: images -> predicted classes.
    ``parameters``: the scale that generated the sets ("": read from files)."""
    return [
        _accuracy(role, name, s, _correct(predict, parts), source, parameters)
        for name, s, parts in sets
    ]


def _correct(predict: Callable[[np.ndarray], np.ndarray], parts: Chunks) -> np.ndarray:
    """Which images of one set were classified right (bool, N), predicted a chunk at a time."""
    return np.concatenate([np.empty(0, bool), *(predict(xc) == yc for xc, yc in parts)])


def _accuracy(
    role: str, name: str, s: int, correct: np.ndarray, source: str, parameters: str
) -> CorruptionAccuracy:
    """The record of one set, keeping which images were right for the paired comparison."""
    acc = float(np.mean(correct))
    return CorruptionAccuracy(
        role, name, family(name), s, acc, len(correct), source, bits.pack(correct), parameters
    )


def records(
    spec: Spec, data: Dataset, role: str, clf: PyTorchClassifier
) -> list[CorruptionAccuracy]:
    """Model ``role``'s corruption accuracies for the spec's ``corruptions:`` (none: [])."""
    cs = spec.corruptions
    if cs is None:
        return []
    # chunks of whole batches: each batch sees the images one pass over the set would give it
    size = chunk_size(data.input_shape, spec.eval_batch_size)
    sets = corrupted_sets(cs, data.x_test, data.y_test, spec.seed, size)
    scale = scale_of(cs, data.input_shape)

    def predict(x: np.ndarray) -> np.ndarray:
        return clf.predict(x, batch_size=spec.eval_batch_size).argmax(1)

    return accuracies(role, predict, sets, _source(cs), scale.name if scale else "")


def _source(cs: CorruptionSpec) -> str:
    """Where the corrupted images come from: the folder read, or the package installed."""
    return f"cifar-c {cs.root}" if cs.root else f"imagecorruptions {backend.version()}"


def provenance(spec: Spec, shape: tuple[int, ...]) -> dict[str, str]:
    """run.json provenance of the corruptions for images of ``shape`` (C, H, W): the package
    version or the folder read, and whose severity parameters generated them."""
    cs = spec.corruptions
    if cs is None:
        return {}
    scale = scale_of(cs, shape)
    return {"corruptions": _source(cs)} | ({"corruption_parameters": scale.name} if scale else {})


def check(spec: Spec) -> CorruptionReference | None:
    """Before any data is read: the extra is installed, or the CIFAR-C folder has every file.
    Returns the spec's named reference, read once here (None when it names none)."""
    cs = spec.corruptions
    if cs is None:
        return None
    named = reference.of(spec)  # a named reference's table reads, or one line says what is wrong
    if not cs.root:
        backend.require()
        return named
    missing = [
        f"{n}.npy"
        for n in (*cs.corruptions, "labels")
        if not (Path(cs.root) / f"{n}.npy").is_file()
    ]
    if missing:
        raise HarnessError(
            f"corruptions.root: {cs.root} lacks {', '.join(missing)}; expected the CIFAR-10-C layout"
            " (<corruption>.npy, labels.npy)"
        )
    return named
