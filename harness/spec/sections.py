"""The plain sections of a spec: training, data, model, evasion, Grad-CAM, sanity probes, weight
analysis, reference figures.

Each field is declared once: its type, its default and its check (``setting``); the schema
walker (``harness.spec.schema.parse``) reads YAML into these classes from that alone. A
``cross_check(where)`` method holds what one field cannot check by itself.
"""

from __future__ import annotations

import importlib.util
import math
import re
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.spec.checks import (
    MAX_IMAGE_SIZE,
    all_positive,
    boolean,
    choice,
    described,
    epsilon,
    floats,
    fraction,
    integer,
    optional,
    pipe,
    positive,
    string,
)
from harness.spec.schema import json_schema, nested, parse, section, setting, shown_fields
from harness.spec.sizes import (
    MAX_EVASION_IMAGES,
    MAX_EVASION_STEPS,
    MAX_PROBE_IMAGES,
    at_most,
)

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("none", "step", "cosine", "onecycle", "triangular")
AUGMENTS = ("none", "crop_flip", "flip_translate")
KEEPS = ("last", "best")
CHECKPOINTS = ("auto", True, False)  # train.checkpoints (harness.epoch_checkpoints)


def _checkpoints(value: Any, where: str) -> str | bool:
    """``auto`` or a boolean (YAML's on/off read as booleans too)."""
    if value == "auto" or isinstance(value, bool):
        return value
    raise HarnessError(f"{where}: expected auto, true or false, got {value!r}")


described(_checkpoints, {"anyOf": [{"const": "auto"}, {"type": "boolean"}]})
LOOKAHEAD_DECAY = 0.774  # about 0.95 ** 5: hlb-CIFAR10's EMA, 0.95 a step, synced every 5 steps


@dataclass(frozen=True)
class TrainSpec:
    """Optimiser settings for one training phase (the CIFAKE study's: Adam 1e-3, batch 64, 5 epochs).

    The recipe fields after ``lr`` default to the CIFAKE study's plain recipe (Adam, constant lr, no
    augmentation, the last epoch kept); at their defaults they are left out of ``repr`` and of
    ``Spec.identity``, so weights-cache keys and spec hashes of older specs do not change.
    """

    epochs: int = setting(5, integer(0))
    batch_size: int = setting(64, integer(1))
    lr: float = setting(1e-3, positive(10.0))  # the peak lr for onecycle
    optimizer: str = setting("adam", choice(OPTIMIZERS), recipe=True)
    momentum: float = setting(0.9, fraction(), recipe=True)  # sgd only
    nesterov: bool = setting(False, boolean, recipe=True)  # sgd only
    weight_decay: float = setting(0.0, fraction(), recipe=True)  # L2, both optimizers
    schedule: str = setting("none", choice(SCHEDULES), recipe=True)
    step_size: int = setting(10, integer(1), recipe=True)  # step: epochs between decays
    gamma: float = setting(0.1, fraction(), recipe=True)  # step: lr factor per decay
    pct_start: float = setting(0.3, fraction(0.01, 0.99), recipe=True)  # onecycle: warm-up share
    augment: str = setting("none", choice(AUGMENTS), recipe=True)
    keep: str = setting("last", choice(KEEPS), recipe=True)  # last | best (validation accuracy)
    # per-epoch checkpoints a stopped training resumes from (harness.epoch_checkpoints): auto
    # (when training is expected to take minutes), true, false. Changes no weight: not in keys
    checkpoints: str | bool = setting("auto", _checkpoints, sparse=True, logistics=True)
    # The fast recipes' pieces (harness.fast_training); off by default
    # (sparse: absent from run.json at their defaults, so older runs' records read the same)
    label_smoothing: float = setting(0.0, fraction(0.0, 0.5), recipe=True, sparse=True)
    lookahead: int = setting(0, integer(0, 1000), recipe=True, sparse=True)  # steps; 0: off
    lookahead_decay: float = setting(
        LOOKAHEAD_DECAY, fraction(0.0, 0.999), recipe=True, sparse=True
    )
    whiten: bool = setting(False, boolean, recipe=True, sparse=True)  # fit the whitening layer

    def cross_check(self, where: str) -> None:
        if self.lookahead == 0 and self.lookahead_decay != LOOKAHEAD_DECAY:
            raise HarnessError(
                f"{where}.lookahead_decay: only read with lookahead (steps between syncs, "
                f"e.g. lookahead: 5); add it or leave lookahead_decay out"
            )

    def __repr__(self) -> str:
        shown = shown_fields(self)
        return f"TrainSpec({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _channels(value: Any, where: str) -> int:
    value = integer(1)(value, where)
    if value not in (1, 3):
        raise HarnessError(f"{where}: expected 1 or 3, got {value!r}")
    return value


@dataclass(frozen=True)
class DataSpec:
    name: str = setting("digits", string)
    # dataset folder; None -> the loader's default under data/
    root: str | None = setting(None, optional(string))
    # stratified subsets of the training and test splits (None: all)
    n_train: int | None = setting(None, optional(integer(1)))
    n_test: int | None = setting(None, optional(integer(1)))
    val_fraction: float = setting(0.1, fraction(0, 0.9))  # held out of the training subset
    # imagefolder: resize to (image_size, image_size); 1 (grayscale) or 3 (RGB) channels
    image_size: int | None = setting(None, optional(integer(1, MAX_IMAGE_SIZE)))
    channels: int | None = setting(None, optional(_channels))
    download: bool = setting(False, boolean)  # torchvision loaders: allowed to download when online
    # No training split on disk (e.g. the CIFAR-10 test set alone): train on this many stratified
    # samples of the test split and evaluate on the rest, disjoint, fixed whatever the run seed.
    train_from_test: int | None = setting(None, optional(integer(1)))
    # imagefolder, ImageNet-style evaluation: the shorter side resized to image_size (aspect
    # kept), then the centre crop_size x crop_size (e.g. 256 then 224). Absent: a square resize.
    crop_size: int | None = setting(
        None, optional(integer(1, MAX_IMAGE_SIZE)), recipe=True, sparse=True
    )

    def cross_check(self, where: str) -> None:
        if self.crop_size is None:
            return
        if self.image_size is None:
            raise HarnessError(
                f"{where}.crop_size: needs {where}.image_size (the shorter side is resized to it, "
                f"then cropped), e.g. image_size: 256 with crop_size: 224"
            )
        if self.crop_size > self.image_size:
            raise HarnessError(
                f"{where}.crop_size: expected at most image_size ({self.image_size}), "
                f"got {self.crop_size}"
            )

    def __repr__(self) -> str:  # crop_size absent: as before, so spec hashes and keys keep
        shown = shown_fields(self)
        return f"DataSpec({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _builder(value: Any, where: str) -> str:
    if not re.match(r"^.+\.py:[A-Za-z_]\w*$", value):
        raise HarnessError(f"{where}: expected 'path/to/file.py:function', got {value!r}")
    return value


def _zoo_field(check: Any = None) -> Any:
    """A field of a zoo model (``harness.zoo``): absent from keys, hashes and run.json unless set."""
    return setting(None, optional(check or string), recipe=True, sparse=True)


# The fields only a zoo model reads; which of them a zoo uses, it declares (``harness.zoo``).
ZOO_FIELDS = ("name", "checkpoint", "dataset", "threat_model", "model_dir", "input_size")


@dataclass(frozen=True)
class ModelSpec:
    arch: str | None = setting("small_cnn", optional(string))  # a registered architecture ...
    builder: str | None = setting(None, optional(pipe(string, _builder)))  # ... or "file.py:fn"
    weights: str | None = setting(None, optional(string))  # load these instead of training
    mean: tuple[float, ...] | None = setting(None, floats)  # override the arch's normalization
    std: tuple[float, ...] | None = setting(None, floats)  # (both, one value per channel)
    train: TrainSpec = setting(factory=TrainSpec, check=nested(TrainSpec))
    # ... or a model of a zoo (harness.zoo: torchvision, timm, robustbench), read offline, and
    # evaluated as it is (never trained): its ``name`` there, and the file(s) that zoo reads
    zoo: str | None = _zoo_field()
    name: str | None = _zoo_field()  # e.g. resnet50 (torchvision), Standard (robustbench)
    checkpoint: str | None = _zoo_field()  # timm: the checkpoint file
    dataset: str | None = _zoo_field()  # robustbench: cifar10 | cifar100 | imagenet
    threat_model: str | None = _zoo_field()  # robustbench: Linf | L2 | corruptions
    model_dir: str | None = _zoo_field()  # robustbench: <model_dir>/<dataset>/<threat>/<name>.pt
    # pixels a side the zoo model takes (default: the zoo's own); other sizes are resized to it
    input_size: int | None = _zoo_field(integer(1, 4 * MAX_IMAGE_SIZE))

    @property
    def given(self) -> bool:
        """The model's weights come from a file (``weights`` or a zoo): nothing to train."""
        return self.weights is not None or self.zoo is not None

    def cross_check(self, where: str) -> None:
        if self.builder and self.arch:
            raise HarnessError(
                f"{where}: give either 'arch' (registered) or 'builder' (file.py:function)"
            )
        self._check_zoo(where)
        mean, std = self.mean, self.std
        if (mean is None) != (std is None) or (mean and len(mean) != len(std or ())):
            raise HarnessError(f"{where}.mean/{where}.std: give both, with one value per channel")
        all_positive(std, f"{where}.std")

    def _check_zoo(self, where: str) -> None:
        """A zoo model has a name and no arch/builder; the zoo's fields need a zoo."""
        if self.zoo is None:
            used = next((k for k in ZOO_FIELDS if getattr(self, k) is not None), None)
            if used:
                raise HarnessError(
                    f"{where}.{used}: only read for a zoo model; add '{where}.zoo' "
                    "(torchvision, timm or robustbench) or leave it out"
                )
            return
        if self.arch or self.builder:
            other = "arch" if self.arch else "builder"
            raise HarnessError(
                f"{where}.{other}: a zoo model ({where}.zoo: {self.zoo}) is built by its zoo; "
                f"leave '{other}' out"
            )
        if self.name is None:
            raise HarnessError(
                f"{where}.name: expected the model's name in the {self.zoo} zoo "
                "(e.g. resnet50, Standard)"
            )
        if self.train != TrainSpec():
            raise HarnessError(
                f"{where}.train: a zoo model is evaluated as given, never trained; leave it out"
            )


def model_section(raw: Any, where: str) -> ModelSpec:
    """A model section; with a ``builder`` or a ``zoo`` and no ``arch``, the default arch does
    not apply."""
    r = section(raw, where, ModelSpec)
    if (r.get("builder") or r.get("zoo")) and "arch" not in r:
        r = {**r, "arch": None}
    return parse(ModelSpec, r, where)


described(model_section, lambda: json_schema(ModelSpec))


@dataclass(frozen=True)
class EvasionSpec:
    """The single-image evasion table (after the CIFAKE study): smallest eps in a fine grid that flips a prediction."""

    n_images: int = setting(5, integer(0, MAX_EVASION_IMAGES))
    eps_max: float = setting(0.1, epsilon)
    eps_step: float = setting(0.0025, epsilon)

    @property
    def steps(self) -> int:
        """Points of the grid eps_step, 2 * eps_step, ... <= eps_max (the 1e-9 keeps eps_max
        itself when the division rounds just below a whole number)."""
        return math.floor(self.eps_max / self.eps_step + 1e-9)

    def cross_check(self, where: str) -> None:
        if not 0 < self.eps_step <= self.eps_max:
            raise HarnessError(
                f"{where}.eps_step: expected a value in (0, eps_max = {self.eps_max:g}], "
                f"got {self.eps_step:g}"
            )
        ratio = self.eps_max / self.eps_step  # inf for a step below 1e-308
        steps = self.steps if math.isfinite(ratio) else ratio
        how = f"eps_max / eps_step = {self.eps_max:g} / {self.eps_step:g} gives "
        at_most(steps, MAX_EVASION_STEPS, f"{where}.eps_step", "steps", how)


@dataclass(frozen=True)
class GradcamSpec:
    """The pictures (``harness.pictures``), all on the same ``n_images`` test images (0: none of
    them): the Grad-CAM panel, plus the attention shift and example grids unless switched off."""

    n_images: int = setting(4, integer(0))
    eps: float | None = setting(None, optional(epsilon))  # None: the middle epsilon of the sweep
    attention: bool = setting(True, boolean, recipe=True)  # Grad-CAM shift at every eps
    examples: bool = setting(True, boolean, recipe=True)  # clean vs adversarial grids per attack


@dataclass(frozen=True)
class SanitySpec:
    """The sanity probes of each model (``harness.model_probe``: gradients, outputs, randomness,
    DLR zero gradients, an unbounded PGD) on ``n_samples`` test images; off, the sanity checks
    grade the run's measurements only."""

    enabled: bool = setting(True, boolean, recipe=True)
    n_samples: int = setting(256, integer(1, MAX_PROBE_IMAGES), recipe=True)


FITS = ("harness", "weightwatcher")  # who fits the ESD power law (harness.weights.esd_fits)


def _fit(value: Any, where: str) -> str:
    """One of FITS; "weightwatcher" only where it is installed (the optional extra ``esd``)."""
    value = choice(FITS)(value, where)
    if value == "weightwatcher" and importlib.util.find_spec("weightwatcher") is None:
        raise HarnessError(f"{where}: weightwatcher is not installed (pip install '.[esd]')")
    return value


@dataclass(frozen=True)
class WeightsSpec:
    """The weight analysis of each trained network (after the noise-and-spectra study) (``harness.weights``). ``fit``: the
    harness's own fit of WeightWatcher's method (the default: equal to WeightWatcher's within
    1e-12, tests/test_esd_weightwatcher.py) or WeightWatcher itself, which takes every SVD again
    (about five times the harness's time on a ResNet-18)."""

    enabled: bool = setting(True, boolean, recipe=True)
    fit: str = setting("harness", _fit, recipe=True)


@dataclass(frozen=True)
class ReferenceRow:
    """One published figure to show beside this run's: clean (attack "none") or robust accuracy."""

    what: str = setting(check=string)  # how the report names the row, e.g. "FGSM, baseline"
    # the published figure as the source states it, e.g. "~10-15%"
    value: str = setting(check=lambda v, where: string(str(v), where), absent="")
    model: str = setting("baseline", string)  # "baseline" or a defence's label
    # "none": clean accuracy; else an attack's key, robust accuracy at eps
    attack: str = setting("none", string)
    eps: float = setting(0.0, epsilon)


def _rows(value: Any, where: str) -> tuple[ReferenceRow, ...]:
    rows = value or []
    if not isinstance(rows, list):
        raise HarnessError(f"{where}: expected a list of rows, got {rows!r}")
    return tuple(parse(ReferenceRow, row, f"{where}[{i}]") for i, row in enumerate(rows))


@dataclass(frozen=True)
class Reference:
    """Published figures a report shows side by side with its own (e.g. a paper's table)."""

    source: str = setting(check=string)
    rows: tuple[ReferenceRow, ...] = setting((), _rows)
