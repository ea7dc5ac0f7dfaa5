"""Per-epoch training checkpoints: a training stopped in epoch k resumes at epoch k and ends with
the weights an uninterrupted run would have, bit for bit.

After every epoch but the last, ``harness.training.run_epochs`` writes the training's whole
state: the model's weights and buffers, the per-epoch table so far, what its trainer declares
(optimizer, lr schedule, its own generators: batch order, augmentation, a numpy generator; the
best epoch's weights for ``keep: best``), what watches the epochs (weight histograms, the
catastrophic-overfitting watch) and every global generator (torch's, CUDA's, numpy's, Python's:
ART's trainers shuffle and draw random starts from them). A rerun of the same training loads it
and goes on with the next epoch.

The file lies in the weights cache, ``<models>/<dataset>/checkpoints/<role>-<key>.ckpt``, named
by the content key of the weights it becomes and holding that key: a checkpoint of another spec,
seed, data or code version is never resumed. It is written atomically, read with
``torch.load(weights_only=True)`` (tensors and plain containers only), and deleted once the
trained weights are cached.

``train.checkpoints``: ``auto`` (the default) writes them for a training expected to last more
than a few minutes: one of at least ``AUTO_IMAGES`` images (epochs x training images; decided
from the spec alone, so the default benchmark's 19,000 never are), or one whose epochs so far
extrapolate to more than ``AUTO_SECONDS`` (a large network on few images); ``true`` always;
``false`` never, and an existing checkpoint is not read. A loop whose trainer declares no state (``state``
of ``run_epochs`` left out) is not checkpointed: it could not resume to the same weights.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import warnings
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from harness import console, device
from harness.errors import HarnessError
from harness.io import atomic_path
from harness.results import EpochStats

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the file's layout changes: older files are then not resumed
AUTO_IMAGES = 50_000  # auto: epochs x training images from which a training is checkpointed
AUTO_SECONDS = 600.0  # auto: or when its epochs so far extrapolate to longer than this
FOLDER = "checkpoints"  # beside the cached weights of the dataset
SUFFIX = ".ckpt"  # not .pt: never taken for cached weights


class Stateful(Protocol):
    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], /) -> Any: ...


# What a trainer declares: optimizers, schedules (Stateful), its own generators
Part = Stateful | torch.Generator | np.random.Generator


def path_for(weights: Path) -> Path:
    """The checkpoint of the training whose weights will be cached at ``weights``."""
    return weights.parent / FOLDER / f"{weights.stem}{SUFFIX}"


@dataclass
class Session:
    """One model's training as the weights cache runs it (``harness.cache``)."""

    path: Path  # the checkpoint file
    key: str  # the content key of the weights it becomes
    role: str  # the model, as messages name it
    mode: str | bool  # train.checkpoints: "auto", True or False
    tracked: dict[str, Stateful] = field(default_factory=dict)  # epoch watchers (``track``)
    loops: int = 0  # training loops started; the first is checkpointed
    saved: int = 0  # the last epoch written (0: none)
    resumed_at: int | None = None  # the epoch a checkpoint resumed it at

    def resumes(self) -> str | None:
        """What a rerun picks up, for the interrupt message; None: nothing saved."""
        if not self.saved:
            return None
        return f"training of {self.role} resumes at epoch {self.saved + 1}"


_current: ContextVar[Session | None] = ContextVar("epoch_checkpoints", default=None)


@contextlib.contextmanager
def session(path: Path, key: str, role: str, mode: str | bool) -> Iterator[Session]:
    """The training of one model, checkpointed at ``path``. An interrupt leaving it carries
    ``resumes`` (what a rerun picks up, or None) for the command line's message."""
    s = Session(path, key, role, mode)
    token = _current.set(s)
    try:
        yield s
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (``harness.cli.Interrupted``)
        exc.resumes = s.resumes()  # type: ignore[attr-defined]
        raise
    finally:
        _current.reset(token)


def track(name: str, obj: Stateful) -> None:
    """Save and restore ``obj``'s state with the current training's checkpoints (outside a
    training session: nothing)."""
    s = _current.get()
    if s is not None:
        s.tracked[name] = obj


def discard(path: Path) -> None:
    """Delete a checkpoint (its weights are cached)."""
    path.unlink(missing_ok=True)


def loop(
    model: nn.Module, state: dict[str, Part | None] | None, epochs: int, images: int, desc: str
) -> Loop:
    """The checkpoints of a training loop of ``epochs`` over ``images`` training images:
    ``state`` is what its trainer declares (None parts are skipped); ``state`` None, no
    session, or a second loop of a session: none."""
    s = _current.get()
    if s is not None:
        s.loops += 1
    if state is None or s is None or s.loops > 1 or s.mode is False:
        return Loop(None, model, {}, epochs, desc)
    parts = {k: v for k, v in state.items() if v is not None}
    return Loop(s, model, parts, epochs, desc, images)


class Loop:
    """Resume, then save after each epoch; without a session, every method does nothing."""

    def __init__(
        self,
        s: Session | None,
        model: nn.Module,
        parts: dict[str, Part],
        epochs: int,
        desc: str,
        images: int = 0,
    ) -> None:
        self.session, self.model, self.parts = s, model, parts
        self.epochs, self.desc, self.images = epochs, desc, images
        self.started, self.done = time.perf_counter(), 0

    def resume(self) -> tuple[int, list[EpochStats]]:
        """The first epoch to train and the table so far: (1, []) unless a checkpoint of this
        very training is there, then everything it saved is loaded."""
        s = self.session
        state = self._read() if s is not None and s.path.is_file() else None
        if s is None or state is None:
            return 1, []
        try:
            self._load(state)
        except (RuntimeError, KeyError, TypeError, ValueError) as exc:  # loaded halfway: stop
            detail = " ".join(str(exc).split())[:200]
            raise HarnessError(
                f"{s.path}: this training checkpoint does not fit its training ({detail}); "
                "delete it to train from the first epoch"
            ) from None
        s.saved, s.resumed_at = state["epoch"], state["epoch"] + 1
        console.line(f"{self.desc}: resumed at epoch {s.resumed_at}/{self.epochs} from {s.path}")
        return s.resumed_at, [EpochStats(**e) for e in state["history"]]

    def save(self, epoch: int, history: list[EpochStats]) -> None:
        """Write the state after ``epoch`` (not after the last: the weights are cached next)."""
        s = self.session
        if s is None:
            return
        self.done += 1
        if epoch >= self.epochs or not (s.mode is True or s.saved or self._long()):
            return
        payload = self._header() | {
            "epoch": epoch,
            "history": [asdict(e) for e in history],
            "model": self.model.state_dict(),
            "parts": {name: state_of(p) for name, p in self.parts.items()},
            "tracked": {name: t.state_dict() for name, t in s.tracked.items()},
            "generators": global_generators(),
        }
        with atomic_path(s.path) as tmp:
            torch.save(payload, tmp)
        s.saved = epoch

    def _long(self) -> bool:
        """auto: whether the training is one of at least AUTO_IMAGES images, or, at the pace
        of its epochs so far, takes longer than AUTO_SECONDS."""
        per_epoch = (time.perf_counter() - self.started) / max(self.done, 1)
        return self.epochs * self.images >= AUTO_IMAGES or per_epoch * self.epochs > AUTO_SECONDS

    def _header(self) -> dict[str, Any]:
        s = self.session
        assert s is not None
        return {"format": FORMAT, "key": s.key, "loop": self.desc, "epochs": self.epochs}

    def _read(self) -> dict[str, Any] | None:
        """The checkpoint, if it is one of this training; else None, with a warning."""
        s = self.session
        assert s is not None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                state = torch.load(s.path, map_location=device.HOST, weights_only=True)
        except Exception as exc:  # torch raises many types for damaged files
            return _refused(s.path, f"unreadable ({' '.join(str(exc).split())[:200]})")
        if not isinstance(state, dict) or any(state.get(k) != v for k, v in self._header().items()):
            return _refused(s.path, "a checkpoint of another training (spec, seed or version)")
        names = (set(state.get("parts", ())), set(state.get("tracked", ())))
        if names != (set(self.parts), set(s.tracked)) or not 1 <= state["epoch"] < self.epochs:
            return _refused(s.path, "its saved state does not fit this training")
        return state

    def _load(self, state: dict[str, Any]) -> None:
        s = self.session
        assert s is not None
        self.model.load_state_dict(state["model"])
        for name, part in self.parts.items():
            set_state(part, state["parts"][name])
        for name, obj in s.tracked.items():
            obj.load_state_dict(state["tracked"][name])
        set_global_generators(state["generators"])


def _refused(path: Path, why: str) -> None:
    log.warning("%s: %s; training from the first epoch", path, why)
    return None


# ---------------------------------------------------------------- states as tensors and plain data


def state_of(part: Part) -> Any:
    """A part's state in a form ``torch.load(weights_only=True)`` reads back."""
    if isinstance(part, torch.Generator):
        return part.get_state()
    if isinstance(part, np.random.Generator):
        return part.bit_generator.state  # a dict of names and (large) ints
    return part.state_dict()


def set_state(part: Part, state: Any) -> None:
    if isinstance(part, torch.Generator):
        part.set_state(state)
    elif isinstance(part, np.random.Generator):
        part.bit_generator.state = state
    else:
        part.load_state_dict(state)


def global_generators() -> dict[str, Any]:
    """The states of torch's, numpy's and Python's global generators (and CUDA's, MPS's when
    they are in use), as tensors and plain values."""
    _, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    version, words, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos)}
        | {"has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "words": torch.tensor(words), "gauss": gauss_next},
    }
    return state | device.generator_states()


def set_global_generators(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(w) for w in p["words"].tolist()), p["gauss"]))
    device.set_generator_states(state)
