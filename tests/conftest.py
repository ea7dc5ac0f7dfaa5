"""Shared test helpers: the staged real data beside the repo, and an isolated cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.architectures import ARCHITECTURES, wrap
from harness.estimator import build_classifier

# ../shared/data beside the checkout: real datasets, staged read-only.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def requires_shared(name: str) -> Path:
    """Path of ``SHARED_DATA/name``; skip the calling test (or fixture) when it is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not staged: {path} is absent")
    return path


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Decoded-dataset caches go to a temporary folder, never into <repo>/data/.cache; the
    shipped specs (which name no root) read the staged data as a user's $HARNESS_DATA would."""
    path = tmp_path_factory.mktemp("harness-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE", str(path))
        mp.delenv("HARNESS_DATA", raising=False)
        if SHARED_DATA.is_dir():
            mp.setenv("HARNESS_DATA", str(SHARED_DATA))
        yield path


# ---------------------------------------------------------------- a tiny trained model

SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """The 8x8 model is too small for intra-op threads: on two shared cores they mostly
    spin-wait, which made C&W ten times slower when other jobs were running."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def task(n: int, seed: int, edges: np.ndarray | None = None):
    """n inputs in [0, 1]; the brightness of the top half decides the class (tertiles)."""
    x = np.random.default_rng(seed).random((n, *SHAPE), dtype=np.float32)
    score = x[:, 0, :4].mean(axis=(1, 2))
    edges = np.quantile(score, [1 / 3, 2 / 3]) if edges is None else edges
    return x, np.digitize(score, edges).astype(np.int64), edges


def fit_tiny(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> None:
    """60 full-batch Adam steps on (x, y), then eval mode: enough for the synthetic task."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            model(torch.from_numpy(x)), torch.from_numpy(y)
        ).backward()
        opt.step()
    model.eval()


@pytest.fixture(scope="module")
def trained():
    """A small_cnn briefly fitted to the synthetic task on 192 inputs."""
    torch.manual_seed(0)
    model = wrap(ARCHITECTURES.get("small_cnn").build(SHAPE, 3), (0.5,), (0.5,), 1)
    x, y, edges = task(192, 0)
    fit_tiny(model, x, y)
    return model, build_classifier(model, SHAPE, 3), x, y, edges


@pytest.fixture(scope="module")
def setup(trained):
    """The model, its classifier and 64 of its training inputs."""
    model, clf, x, y, _ = trained
    return model, clf, x[:64], y[:64]


@pytest.fixture(scope="module")
def held_out(trained):
    """The model, its classifier and 200 fresh inputs (clean accuracy about 0.8)."""
    model, clf, _, _, edges = trained
    x, y, _ = task(200, 1, edges)
    return model, clf, x, y


FAST_RUN = ["--set", "model.train.epochs=2", "--set", "evasion.n_images=1"]
FAST_RUN += ["--set", "gradcam.n_images=2"]


@pytest.fixture(scope="session")
def digits_runs(tmp_path_factory) -> list[Path]:
    """Two default digits runs (seeds 0 and 1, 2 epochs), made once for every test that reads
    run folders; models cached in a temporary folder. Read them, never write into them."""
    from harness.cli import main

    root = tmp_path_factory.mktemp("digits-runs")
    mp = pytest.MonkeyPatch()
    mp.setattr("harness.runner.MODELS_DIR", root / "models")  # read by run() at call time
    try:
        for seed in (0, 1):
            out = root / f"seed{seed}"
            assert main(["run", "--out", str(out), *FAST_RUN, "--set", f"seed={seed}"]) == 0
    finally:
        mp.undo()
    return [root / "seed0", root / "seed1"]
