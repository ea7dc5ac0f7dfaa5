"""The trained-weights cache: train a network once per content key, reuse it on every rerun.

A cached file is named by the hash of everything that determines its weights (the model's
recipe and training, the data, the seed, the thread count, ``CACHE_VERSION``), so specs that
build the same model share it. A file that fails its SHA-256 or finiteness check is retrained.
A training stopped midway resumes from its last epoch checkpoint, named by the same hash
(``harness.epoch_checkpoints``), deleted once the weights are cached.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.results import EpochStats
from harness.spec import Spec, stable_hash

if TYPE_CHECKING:
    from torch import nn

    from harness.epoch_checkpoints import Session
    from harness.training import Snapshot, TrainData
    from harness.weights import WeightRecorder

CACHE_VERSION = 1  # bump when training code changes what a cached model would be

# trains in place, returns per-epoch stats (torch types as strings: grid keys read
# CACHE_VERSION when a spec is validated, which imports no torch)
Fit = Callable[["nn.Module", "Snapshot"], list[EpochStats]]


@dataclass
class Fitted:
    """A network with trained weights, trained now or read from the cache, and how."""

    model: nn.Module  # eval mode
    history: list[EpochStats]
    training: str  # "trained" or "reused <path>"
    weights: str  # path of the cached weights file
    recorder: WeightRecorder  # per-epoch weight histograms
    sha256: str  # of the weights file
    resumed_at: int | None = None  # the epoch training resumed at from a checkpoint


def cached(
    spec: Spec,
    split: TrainData,
    key: dict[str, Any],
    models_dir: Path,
    role: str,
    make: Callable[[], nn.Module],
    fit: Fit,
    checkpoints: str | bool = False,
) -> Fitted:
    """Train ``make()`` with ``fit`` unless weights for exactly this key, data and seed are cached.

    ``checkpoints``: the training's ``train.checkpoints`` (auto, True, False): whether it
    writes epoch checkpoints and resumes from one (``harness.epoch_checkpoints``)."""
    import torch

    from harness import device, epoch_checkpoints

    dev = device.resolve(spec.device)
    full_key = key | {
        "data": spec.dataset,
        "seed": spec.seed,
        "n_train": len(split.x_train),
        # CPU kernels reduce in a thread-count-dependent order: 1 and 2 threads train different
        # weights (the CIFAKE study's CNN differs by up to 0.08), so weights are only shared alike.
        "threads": torch.get_num_threads(),
        "v": CACHE_VERSION,
    }
    if (
        spec.reproducible != "standard"
    ):  # other kernels train other weights; standard keys as before
        full_key["reproducible"] = spec.reproducible
    if device.is_accelerator(dev):  # an accelerator trains other weights; CPU keys unchanged
        full_key["device"] = dev.type
    digest = stable_hash(full_key)
    path = models_dir / spec.dataset.name / f"{role}-{digest}.pt"  # shared across specs
    torch.manual_seed(spec.seed)  # same initial weights for the same seed
    model = make().to(dev)  # initialised on the host from the seed: the same start everywhere
    if (reused := reuse(path, digest, model)) is not None:
        epoch_checkpoints.discard(epoch_checkpoints.path_for(path))  # one left by a kill
        return reused
    session = epoch_checkpoints.session(epoch_checkpoints.path_for(path), digest, role, checkpoints)
    return _train(spec, model, fit, path, {"key": digest, "inputs": full_key}, session)


def _train(
    spec: Spec,
    model: nn.Module,
    fit: Fit,
    path: Path,
    meta: dict[str, Any],
    session: AbstractContextManager[Session],
) -> Fitted:
    """Train ``model`` from the seed (or its checkpoint in ``session``), then save it with its
    history under ``path``."""
    from harness import checkpoints, epoch_checkpoints
    from harness.seeding import seed_everything
    from harness.weights import WeightRecorder

    seed_everything(spec.seed)
    recorder = WeightRecorder()
    recorder(0, model)  # the initial weights, then one snapshot per epoch
    with session as s:
        epoch_checkpoints.track("weight_histograms", recorder)
        history = fit(model, recorder)
        model.eval()
        meta = meta | {
            "history": [dataclasses.asdict(h) for h in history],
            "weight_epochs": recorder.epochs,
        }
        if s.resumed_at is not None:
            meta["resumed_at"] = s.resumed_at
        sha = checkpoints.save(model, path, meta)  # inside: a stop here still says what resumes
    epoch_checkpoints.discard(s.path)
    return Fitted(model, history, "trained", str(path), recorder, sha, s.resumed_at)


def reuse(path: Path, digest: str, model: nn.Module) -> Fitted | None:
    """The cached weights at ``path`` loaded into ``model``, or None: none cached for this key, or
    a file that fails its SHA-256 or finiteness check (then retrained and replaced)."""
    from harness import checkpoints
    from harness.weights import WeightRecorder

    meta = checkpoints.load_meta(path)
    if not path.is_file() or meta is None or meta.get("key") != digest:
        return None
    if (loaded := checkpoints.cached_state(path, meta)) is None:
        return None
    state, sha = loaded
    checkpoints.load_into(model, path, f"models/{path.name}", state)
    history = [EpochStats(**e) for e in meta.get("history", [])]
    recorder = WeightRecorder()
    recorder.epochs = meta.get("weight_epochs", [])
    return Fitted(model.eval(), history, f"reused {path}", str(path), recorder, sha)
