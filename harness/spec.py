"""Benchmark specs: YAML in, validated typed dataclasses out.

Strings and units are converted once here (``"8/255"`` -> 0.0313...); everything after this
module carries floats in [0, 1] pixel units. Every registry name is checked before any data
or weights are loaded, and a bad value gives one line naming the field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError, did_you_mean

SPEC_VERSION = 1
DEFAULT_SPEC = Path(__file__).resolve().parent.parent / "benchmarks" / "digits_fgsm.yaml"
# Bounds on what a spec may cost to read. The largest benchmark is ~2 KB and ~170 YAML nodes;
# without them a 550-byte "billion laughs" spec (nested aliases) took 2.7 GB to parse.
MAX_SPEC_BYTES = 1 << 18  # 256 KiB, a spec file (PyYAML reads ~0.5 MB/s: a bound in time too)
MAX_SET_CHARS = 1 << 16  # one --set value
MAX_YAML_NODES = 5_000  # scalars, lists and mappings in one document (~15x the largest grid)
MAX_YAML_DEPTH = 32  # nesting of lists and mappings (PyYAML's composer recurses per level)
MAX_SEED = 2**32 - 1  # numpy's legacy seeding takes [0, 2**32 - 1]
MAX_THREADS = 256  # torch intra-op threads; more only oversubscribes (and each has a stack)
MAX_IMAGE_SIZE = 1024  # pixels a side: one 1024x1024 RGB image is 12 MB as float32
MAX_NAME = 100  # characters of a name that becomes a folder or file name


OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("none", "step", "cosine", "onecycle")
AUGMENTS = ("none", "crop_flip")
KEEPS = ("last", "best")
_RECIPE = {"recipe": True}  # field metadata: left out of keys and hashes at its default value


@dataclass(frozen=True)
class TrainSpec:
    """Optimiser settings for one training phase (seed 000: Adam 1e-3, batch 64, 5 epochs).

    The recipe fields after ``lr`` default to seed 000's plain recipe (Adam, constant lr, no
    augmentation, the last epoch kept); at their defaults they are left out of ``repr`` and of
    ``Spec.identity``, so weights-cache keys and spec hashes of older specs do not change.
    """

    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3  # the peak lr for onecycle
    optimizer: str = field(default="adam", metadata=_RECIPE)  # adam | sgd
    momentum: float = field(default=0.9, metadata=_RECIPE)  # sgd only
    nesterov: bool = field(default=False, metadata=_RECIPE)  # sgd only
    weight_decay: float = field(default=0.0, metadata=_RECIPE)  # L2, both optimizers
    schedule: str = field(default="none", metadata=_RECIPE)  # none | step | cosine | onecycle
    step_size: int = field(default=10, metadata=_RECIPE)  # step: epochs between decays
    gamma: float = field(default=0.1, metadata=_RECIPE)  # step: lr factor per decay
    pct_start: float = field(default=0.3, metadata=_RECIPE)  # onecycle: share of warm-up steps
    augment: str = field(default="none", metadata=_RECIPE)  # none | crop_flip
    keep: str = field(default="last", metadata=_RECIPE)  # last | best (validation accuracy)

    def __repr__(self) -> str:
        shown = _fields(self)
        return f"TrainSpec({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _fields(obj: Any) -> dict[str, Any]:
    """A dataclass's fields, without recipe fields at their default values."""
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if not (f.metadata.get("recipe") and getattr(obj, f.name) == f.default)
    }


def identity(obj: Any) -> Any:
    """``dataclasses.asdict`` without recipe fields at their defaults (see ``TrainSpec``)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: identity(v) for k, v in _fields(obj).items()}
    if isinstance(obj, list | tuple):
        return type(obj)(identity(v) for v in obj)
    if isinstance(obj, dict):
        return {k: identity(v) for k, v in obj.items()}
    return obj


@dataclass(frozen=True)
class DataSpec:
    name: str = "digits"
    root: str | None = None  # dataset folder; None -> the loader's default under data/
    n_train: int | None = None  # stratified subset of the training split (None: all)
    n_test: int | None = None  # stratified subset of the test split (None: all)
    val_fraction: float = 0.1  # held out of the training subset for validation
    image_size: int | None = None  # imagefolder: resize to (image_size, image_size)
    channels: int | None = None  # imagefolder: 1 (grayscale) or 3 (RGB)
    download: bool = False  # torchvision loaders: allowed to download when online
    # No training split on disk (e.g. the CIFAR-10 test set alone): train on this many stratified
    # samples of the test split and evaluate on the rest, disjoint, fixed whatever the run seed.
    train_from_test: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    arch: str | None = "small_cnn"  # a registered architecture ...
    builder: str | None = None  # ... or the user's "path/to/file.py:function"
    weights: str | None = None  # load these weights instead of training
    mean: tuple[float, ...] | None = None  # override the architecture's normalization
    std: tuple[float, ...] | None = None
    train: TrainSpec = field(default_factory=TrainSpec)


@dataclass(frozen=True)
class AttackSpec:
    name: str  # registered attack
    params: dict[str, Any] = field(default_factory=dict)  # pixel units
    label: str = ""  # how results name it (default: the attack name); unique within a spec

    @property
    def key(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class DefenceSpec:
    """One hardening step of the Improve phase; its output model is evaluated like the baseline."""

    name: str = "adversarial_training"  # a registered defence (harness.defences.DEFENCES)
    label: str = "robust"  # the model's name in results and reports; unique within a spec
    arch: str | None = None  # None: the baseline's architecture
    params: dict[str, Any] = field(default_factory=dict)  # the defence's own, pixel units
    train: TrainSpec | None = None  # None: the baseline's training settings

    @property
    def key(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class EvasionSpec:
    """Seed 000's single-image evasion: smallest eps in a fine grid that flips a prediction."""

    n_images: int = 5
    eps_max: float = 0.1
    eps_step: float = 0.0025


@dataclass(frozen=True)
class GradcamSpec:
    n_images: int = 4
    eps: float | None = None  # None: the middle epsilon of the sweep


@dataclass(frozen=True)
class ReferenceRow:
    """One published figure to show beside this run's: clean (attack "none") or robust accuracy."""

    what: str  # how the report names the row, e.g. "FGSM, baseline"
    value: str  # the published figure as the source states it, e.g. "~10-15%"
    model: str = "baseline"  # "baseline" or a defence's label
    attack: str = "none"  # "none": clean accuracy; else an attack's key, robust accuracy at eps
    eps: float = 0.0


@dataclass(frozen=True)
class Reference:
    """Published figures a report shows side by side with its own (e.g. seed 001's table)."""

    source: str
    rows: tuple[ReferenceRow, ...] = ()


@dataclass(frozen=True)
class GridModel:
    """One model of a grid: a model section (over the spec's ``model:``) and its label."""

    label: str
    model: ModelSpec


@dataclass(frozen=True)
class GridSpec:
    """A grid of runs (``harness.grid``): every model x seed x (baseline + each defence) x attack
    is one cell, swept over the spec's epsilons."""

    seeds: tuple[int, ...] = (0,)
    models: tuple[GridModel, ...] = ()  # empty: the spec's own ``model:``


@dataclass(frozen=True)
class Spec:
    name: str
    version: int = SPEC_VERSION
    description: str = ""
    seed: int = 0
    dataset: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    attacks: tuple[AttackSpec, ...] = (AttackSpec("fgsm"),)
    probes: tuple[AttackSpec, ...] = ()  # eps-free analyses: noise, minimal (harness.probes)
    eps: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2)
    # `defence:` (one, named "robust") or `defences:` (a list, each named by its label or name)
    defences: tuple[DefenceSpec, ...] = (DefenceSpec(),)
    evasion: EvasionSpec = field(default_factory=EvasionSpec)
    gradcam: GradcamSpec = field(default_factory=GradcamSpec)
    eval_batch_size: int = 256
    threads: int | None = None  # torch intra-op threads; None: leave torch's default
    grid: GridSpec | None = None  # None: one run; else a grid of cells (``harness.grid``)
    source: str | None = None  # the file the spec came from (not part of its identity)
    reference: Reference | None = None  # published figures to compare (not part of its identity)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source")
        return d

    def identity(self) -> dict[str, Any]:
        """``to_dict`` without recipe fields at their defaults: what hashes and keys are made of."""
        d = identity(self)
        d.pop("source"), d.pop("reference")
        return d

    def digest(self) -> str:
        """Content hash of the resolved spec (identity of a run's inputs)."""
        return stable_hash(self.identity())


def stable_hash(obj: Any, n: int = 12) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


# ---------------------------------------------------------------- bounded YAML


class SpecLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics with bounds: no anchors or aliases (the "billion laughs"
    expansion), no duplicate keys, at most ``MAX_YAML_NODES`` nodes ``MAX_YAML_DEPTH`` deep."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refusal("anchors and aliases (&name, *name) are not allowed", event)
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            raise _refusal(f"too many values; expected at most {MAX_YAML_NODES}", event)
        if self._depth >= MAX_YAML_DEPTH:
            raise _refusal(f"nested too deep; expected at most {MAX_YAML_DEPTH} levels", event)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        self._refuse_duplicates(node)
        return super().construct_mapping(node, deep)

    def _refuse_duplicates(self, node: Any) -> None:
        first: dict[Any, int] = {}  # key -> its line
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # SafeLoader refuses it with its own message
            if key in first:
                raise _refusal(f"duplicate key {_show(key)} (first on line {first[key]})", key_node)
            first[key] = key_node.start_mark.line + 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # a date 2001-13-01, an int of 5,000 digits
            raise _refusal(f"cannot read {_show(node.value)} ({_show(str(exc))})", node) from None


def _refusal(problem: str, where: Any) -> yaml.MarkedYAMLError:
    """A YAML error at ``where`` (a node or an event): its line and column, and the problem."""
    return yaml.MarkedYAMLError(problem=problem, problem_mark=where.start_mark)


def load_yaml(text: str) -> Any:
    """Parse one YAML document with ``SpecLoader``; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=SpecLoader)  # a SafeLoader subclass: no Python objects


def yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where in the text and what is wrong."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark, context = exc.problem_mark, f"{exc.context}, " if exc.context else ""
        return f"line {mark.line + 1}, column {mark.column + 1}: {context}{exc.problem}"
    return " ".join(str(exc).split())


def read_spec_text(path: Path) -> str:
    """The file's text: at most ``MAX_SPEC_BYTES``, UTF-8, not binary; else one line naming it."""
    try:
        with path.open("rb") as f:  # a bounded read: /dev/zero or a FIFO cannot exhaust memory
            data = f.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read spec file ({exc.strerror})") from None
    if len(data) > MAX_SPEC_BYTES:
        raise HarnessError(f"{path}: spec file too large; expected at most {MAX_SPEC_BYTES} bytes")
    return _decode(data, path)


def _decode(data: bytes, path: Path) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 (or UTF-32 LE) byte-order mark
        raise HarnessError(f"{path}: UTF-16 text; expected a UTF-8 YAML spec")
    if b"\x00" in data:
        raise HarnessError(f"{path}: binary or UTF-16 (NUL bytes); expected a UTF-8 YAML spec")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HarnessError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "expected a UTF-8 YAML spec"
        ) from None


def _show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so an error stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


# ---------------------------------------------------------------- value parsing

_FRACTION = re.compile(r"^\s*[-+]?\d+(\.\d*)?\s*/\s*\d+(\.\d*)?\s*$")


def parse_float(value: Any, where: str) -> float:
    """Parse a number or a fraction string like ``"8/255"``."""
    if isinstance(value, bool):
        raise HarnessError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        s = value.strip()
        try:
            if _FRACTION.match(s):
                num, den = (Fraction(p.strip()) for p in s.split("/"))
                return float(num / den)
            return float(s)
        except (ValueError, ZeroDivisionError):
            pass
    raise HarnessError(f"{where}: expected a number such as 0.03 or 8/255, got {value!r}")


def _int(value: Any, where: str, minimum: int = 0, maximum: int | None = None) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if not ok or (maximum is not None and value > maximum):
        expected = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise HarnessError(f"{where}: expected an integer {expected}, got {_show(value)}")
    return value


def _opt_int(value: Any, where: str, minimum: int = 1, maximum: int | None = None) -> int | None:
    return None if value is None else _int(value, where, minimum, maximum)


def _positive(value: Any, where: str, hi: float) -> float:
    """A number in (0, hi]: a learning rate of 0 trains nothing."""
    x = parse_float(value, where)
    if not 0 < x <= hi:
        raise HarnessError(f"{where}: expected a value in (0, {hi}], got {_show(value)}")
    return x


def _fraction(value: Any, where: str, lo: float = 0.0, hi: float = 1.0) -> float:
    x = parse_float(value, where)
    if not lo <= x <= hi:
        raise HarnessError(f"{where}: expected a value in [{lo}, {hi}], got {_show(value)}")
    return x


def _eps(value: Any, where: str) -> float:
    return _fraction(value, where, 0.0, 1.0)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise HarnessError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _text(value: Any, where: str) -> str:
    """Free text (None: empty); a list or mapping here is a mistake, not text."""
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise HarnessError(f"{where}: expected text, got {_show(value)}")
    return str(value)


def _opt_str(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise HarnessError(f"{where}: expected true or false, got {value!r}")
    return value


def _units(value: Any) -> Any:
    """Attack parameters may be written as fractions ("2/255"); convert those, keep the rest."""
    if isinstance(value, str) and _FRACTION.match(value):
        return parse_float(value, "")
    if isinstance(value, dict):
        return {k: _units(v) for k, v in value.items()}
    return value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise HarnessError(f"{where}: expected a mapping of parameters, got {value!r}")
    return dict(value)


def _floats(value: Any, where: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not value:
        raise HarnessError(f"{where}: expected a list of numbers, got {value!r}")
    return tuple(parse_float(v, f"{where}[{i}]") for i, v in enumerate(value))


def _section(raw: Any, where: str, cls: type) -> dict[str, Any]:
    """Check a mapping has only the dataclass's keys; return it (None -> {})."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise HarnessError(f"{where}: expected a mapping, got {raw!r}")
    allowed = [f.name for f in dataclasses.fields(cls) if (cls, f.name) != (Spec, "source")]
    for key in raw:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            prefix = f"{where}." if where else ""
            raise HarnessError(
                f"{prefix}{key}: unknown field; expected one of: {', '.join(allowed)}{hint}"
            )
    return raw


# ---------------------------------------------------------------- sections


def _train(raw: Any, where: str) -> TrainSpec:
    r = _section(raw, where, TrainSpec)
    d = TrainSpec()
    return TrainSpec(
        epochs=_int(r.get("epochs", d.epochs), f"{where}.epochs", 0),
        batch_size=_int(r.get("batch_size", d.batch_size), f"{where}.batch_size", 1),
        lr=_positive(r.get("lr", d.lr), f"{where}.lr", 10.0),
        **_recipe(r, where, d),
    )


def _recipe(r: dict[str, Any], where: str, d: TrainSpec) -> dict[str, Any]:
    """The recipe fields of a train section (optimizer, schedule, augmentation, kept epoch)."""
    return {
        "optimizer": _choice(r.get("optimizer", d.optimizer), f"{where}.optimizer", OPTIMIZERS),
        "momentum": _fraction(r.get("momentum", d.momentum), f"{where}.momentum"),
        "nesterov": _bool(r.get("nesterov", d.nesterov), f"{where}.nesterov"),
        "weight_decay": _fraction(r.get("weight_decay", d.weight_decay), f"{where}.weight_decay"),
        "schedule": _choice(r.get("schedule", d.schedule), f"{where}.schedule", SCHEDULES),
        "step_size": _int(r.get("step_size", d.step_size), f"{where}.step_size", 1),
        "gamma": _fraction(r.get("gamma", d.gamma), f"{where}.gamma"),
        "pct_start": _fraction(r.get("pct_start", d.pct_start), f"{where}.pct_start", 0.01, 0.99),
        "augment": _choice(r.get("augment", d.augment), f"{where}.augment", AUGMENTS),
        "keep": _choice(r.get("keep", d.keep), f"{where}.keep", KEEPS),
    }


def _choice(value: Any, where: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        hint = did_you_mean(value, allowed)
        raise HarnessError(f"{where}: expected one of {', '.join(allowed)}, got {value!r}{hint}")
    return value


def _data(raw: Any) -> DataSpec:
    r = _section(raw, "dataset", DataSpec)
    d = DataSpec()
    channels = _opt_int(r.get("channels"), "dataset.channels")
    if channels not in (None, 1, 3):
        raise HarnessError(f"dataset.channels: expected 1 or 3, got {channels!r}")
    return DataSpec(
        name=_str(r.get("name", d.name), "dataset.name"),
        root=_opt_str(r.get("root"), "dataset.root"),
        n_train=_opt_int(r.get("n_train"), "dataset.n_train"),
        n_test=_opt_int(r.get("n_test"), "dataset.n_test"),
        val_fraction=_fraction(
            r.get("val_fraction", d.val_fraction), "dataset.val_fraction", 0, 0.9
        ),
        image_size=_opt_int(r.get("image_size"), "dataset.image_size", 1, MAX_IMAGE_SIZE),
        channels=channels,
        download=_bool(r.get("download", False), "dataset.download"),
        train_from_test=_opt_int(r.get("train_from_test"), "dataset.train_from_test"),
    )


def _model(raw: Any, where: str = "model") -> ModelSpec:
    r = _section(raw, where, ModelSpec)
    builder = _opt_str(r.get("builder"), f"{where}.builder")
    arch = _opt_str(r.get("arch", None if builder else ModelSpec.arch), f"{where}.arch")
    if builder and arch:
        raise HarnessError(
            f"{where}: give either 'arch' (registered) or 'builder' (file.py:function)"
        )
    if builder and not re.match(r"^.+\.py:[A-Za-z_]\w*$", builder):
        raise HarnessError(f"{where}.builder: expected 'path/to/file.py:function', got {builder!r}")
    mean, std = _floats(r.get("mean"), f"{where}.mean"), _floats(r.get("std"), f"{where}.std")
    if (mean is None) != (std is None) or (mean and len(mean) != len(std or ())):
        raise HarnessError(f"{where}.mean/{where}.std: give both, with one value per channel")
    if mean is not None and not all(math.isfinite(m) for m in mean):
        raise HarnessError(f"{where}.mean: expected finite numbers, got {list(mean)}")
    if std is not None and not all(0 < v < math.inf for v in std):
        raise HarnessError(f"{where}.std: expected positive finite numbers, got {list(std)}")
    return ModelSpec(
        arch=arch,
        builder=builder,
        weights=_opt_str(r.get("weights"), f"{where}.weights"),
        mean=mean,
        std=std,
        train=_train(r.get("train"), f"{where}.train"),
    )


def _attacks(
    raw: Any, section: str = "attacks", default: Any = ("fgsm",)
) -> tuple[AttackSpec, ...]:
    if raw is None:
        raw = list(default)
    if not isinstance(raw, list) or (not raw and default):
        raise HarnessError(
            f"{section}: expected a list of names or mappings with 'name', got {raw!r}"
        )
    out = []
    for i, item in enumerate(raw):
        where = f"{section}[{i}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or "name" not in item:
            raise HarnessError(f"{where}: expected a name or a mapping with 'name', got {item!r}")
        params = {k: _units(v) for k, v in item.items() if k not in ("name", "label")}
        label = _str(item["label"], f"{where}.label") if "label" in item else ""
        out.append(AttackSpec(_str(item["name"], f"{where}.name"), params, label))
    keys = [a.key for a in out]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise HarnessError(
                f"{section}[{i}]: {key!r} appears twice; give each a distinct 'label' (e.g. label: {key}_targeted)"
            )
    return tuple(out)


_DEFENCE_FIELDS = ("name", "label", "arch", "train")


def _defence(raw: Any, where: str, label: str) -> DefenceSpec:
    """One defence; every key besides name/label/arch/train is a parameter of the defence."""
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        raise HarnessError(f"{where}: expected a defence name or a mapping, got {raw!r}")
    name = _str(raw.get("name", DefenceSpec.name), f"{where}.name")
    given = _mapping(raw.get("params"), f"{where}.params")
    extra = {k: v for k, v in raw.items() if k not in (*_DEFENCE_FIELDS, "params")}
    return DefenceSpec(
        name=name,
        label=_str(raw["label"], f"{where}.label") if "label" in raw else label or name,
        arch=_opt_str(raw.get("arch"), f"{where}.arch"),
        params={k: _units(v) for k, v in (given | extra).items()},
        train=_train(raw["train"], f"{where}.train") if "train" in raw else None,
    )


def _defences(r: dict[str, Any]) -> tuple[DefenceSpec, ...]:
    """``defence:`` (one hardened model, "robust"; null for none) or ``defences:`` (a list)."""
    if "defence" in r and "defences" in r:
        raise HarnessError("defence/defences: give one of them (a single defence or a list)")
    if "defences" not in r:
        one = r.get("defence", {})
        return () if one is None or one is False else (_defence(one, "defence", "robust"),)
    raw = r["defences"]
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise HarnessError(f"defences: expected a list of defences, got {raw!r}")
    out = tuple(_defence(d, f"defences[{i}]", "") for i, d in enumerate(raw))
    keys = ["baseline"] + [d.key for d in out]
    for i, key in enumerate(keys[1:]):
        if key in keys[: i + 1]:
            raise HarnessError(
                f"defences[{i}]: model name {key!r} is taken; give each defence a distinct 'label'"
            )
        _check_name(key, f"defences[{i}].label")
    return out


def _check_name(value: str, where: str) -> str:
    """Names that become file and folder names: letters, digits, '_', '-', '.' (not only dots)."""
    if not re.match(r"^[A-Za-z0-9_.-]+$", value) or not value.strip("."):
        raise HarnessError(f"{where}: expected letters, digits, '_', '-' or '.', got {value!r}")
    if len(value) > MAX_NAME:
        raise HarnessError(f"{where}: expected at most {MAX_NAME} characters, got {len(value)}")
    return value


def _grid(raw: Any, base_model: Any) -> GridSpec:
    """``grid: {seeds: [...], models: [...]}``; each model entry is a registered architecture
    name or a model section (plus ``label``) laid over the spec's ``model:`` section."""
    r = _section(raw, "grid", GridSpec)
    seeds = r.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds:
        raise HarnessError(f"grid.seeds: expected a non-empty list of integers, got {seeds!r}")
    seeds = tuple(_int(s, f"grid.seeds[{i}]", 0, MAX_SEED) for i, s in enumerate(seeds))
    if len(set(seeds)) != len(seeds):
        raise HarnessError(f"grid.seeds: each seed once, got {list(seeds)}")
    entries = r.get("models")
    if entries is not None and (not isinstance(entries, list) or not entries):
        raise HarnessError(f"grid.models: expected a non-empty list of models, got {entries!r}")
    models = tuple(_grid_model(e, base_model, i) for i, e in enumerate(entries or []))
    labels = [m.label for m in models]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            raise HarnessError(
                f"grid.models[{i}]: label {label!r} is taken; give each model a distinct 'label'"
            )
    return GridSpec(seeds, models)


def _grid_model(raw: Any, base_model: Any, i: int) -> GridModel:
    where = f"grid.models[{i}]"
    if isinstance(raw, str):
        raw = {"arch": raw}
    if not isinstance(raw, dict):
        raise HarnessError(
            f"{where}: expected an architecture name or a model section, got {raw!r}"
        )
    base = dict(base_model) if isinstance(base_model, dict) else {}
    if "arch" in raw or "builder" in raw:  # its own network: only the training settings carry over
        base = {k: v for k, v in base.items() if k == "train"}
    entry = {k: v for k, v in raw.items() if k != "label"}
    model = _model(base | entry, where)
    default = model.arch or (model.builder or "").rpartition(":")[2]
    label = _str(raw["label"], f"{where}.label") if "label" in raw else default
    return GridModel(_check_name(label, f"{where}.label"), model)


def _evasion(raw: Any) -> EvasionSpec:
    r = _section(raw, "evasion", EvasionSpec)
    d = EvasionSpec()
    spec = EvasionSpec(
        n_images=_int(r.get("n_images", d.n_images), "evasion.n_images", 0),
        eps_max=_eps(r.get("eps_max", d.eps_max), "evasion.eps_max"),
        eps_step=_eps(r.get("eps_step", d.eps_step), "evasion.eps_step"),
    )
    if not 0 < spec.eps_step <= spec.eps_max:
        raise HarnessError(
            f"evasion.eps_step: expected a value in (0, eps_max = {spec.eps_max:g}], "
            f"got {spec.eps_step:g}"
        )
    return spec


def _gradcam(raw: Any) -> GradcamSpec:
    r = _section(raw, "gradcam", GradcamSpec)
    eps = r.get("eps")
    return GradcamSpec(
        n_images=_int(r.get("n_images", GradcamSpec.n_images), "gradcam.n_images", 0),
        eps=None if eps is None else _eps(eps, "gradcam.eps"),
    )


def _reference(raw: Any) -> Reference | None:
    """``reference: {source: "seed 001", rows: [{what, value, model, attack, eps}, ...]}``."""
    if raw is None:
        return None
    r = _section(raw, "reference", Reference)
    rows = r.get("rows") or []
    if not isinstance(rows, list):
        raise HarnessError(f"reference.rows: expected a list of rows, got {rows!r}")
    return Reference(
        _str(r.get("source"), "reference.source"),
        tuple(_reference_row(row, f"reference.rows[{i}]") for i, row in enumerate(rows)),
    )


def _reference_row(raw: Any, where: str) -> ReferenceRow:
    r = _section(raw, where, ReferenceRow)
    return ReferenceRow(
        what=_str(r.get("what"), f"{where}.what"),
        value=_str(str(r.get("value", "")), f"{where}.value"),
        model=_str(r.get("model", "baseline"), f"{where}.model"),
        attack=_str(r.get("attack", "none"), f"{where}.attack"),
        eps=_eps(r.get("eps", 0.0), f"{where}.eps"),
    )


def _check_reference(spec: Spec) -> None:
    """Each reference row names a model, attack and epsilon of this spec."""
    rows = spec.reference.rows if spec.reference else ()
    models = ["baseline", *(d.key for d in spec.defences)]
    attacks = ["none", *(a.key for a in spec.attacks)]
    for i, row in enumerate(rows):
        where = f"reference.rows[{i}]"
        if row.model not in models:
            raise HarnessError(
                f"{where}.model: expected one of {', '.join(models)}, got {row.model!r}"
            )
        if row.attack not in attacks:
            raise HarnessError(
                f"{where}.attack: expected one of {', '.join(attacks)}, got {row.attack!r}"
            )
        if row.attack != "none" and not any(abs(row.eps - e) < 1e-9 for e in spec.eps):
            raise HarnessError(f"{where}.eps: {row.eps} is not one of the spec's eps")


def parse_spec(raw: Any, source: str | None = None) -> Spec:
    """Turn a raw mapping (from YAML) into a validated ``Spec``."""
    if isinstance(raw, dict) and "defence" in raw:
        raw = dict(raw)
        single = {"defence": raw.pop("defence")}
    else:
        single = {}
    r = _section(raw, "", Spec)
    version = _int(r.get("version", SPEC_VERSION), "version", 1)
    if version != SPEC_VERSION:
        raise HarnessError(
            f"version: this harness reads spec version {SPEC_VERSION}, got {version}"
        )
    _refuse_null(r, _NOT_NULL)
    eps = _epsilons(r.get("eps"))
    model = _model(r.get("model"))
    grid = _grid(r["grid"], r.get("model")) if r.get("grid") is not None else None
    default_name = Path(source).stem if source else "benchmark"
    spec = Spec(
        name=_str(r.get("name", default_name), "name"),
        version=version,
        description=_text(r.get("description"), "description"),
        seed=_int(r.get("seed", 0), "seed", 0, MAX_SEED),
        dataset=_data(r.get("dataset")),
        model=model,
        attacks=_attacks(r.get("attacks")),
        probes=_attacks(r.get("probes"), "probes", ()),
        eps=eps,
        defences=_defences(single | r),
        evasion=_evasion(r.get("evasion")),
        gradcam=_gradcam(r.get("gradcam")),
        eval_batch_size=_int(r.get("eval_batch_size", 256), "eval_batch_size", 1),
        threads=_opt_int(r.get("threads"), "threads", 1, MAX_THREADS),
        grid=grid,
        source=source,
        reference=_reference(r.get("reference")),
    )
    _check_name(spec.name, "name")
    _check_reference(spec)
    return spec


# Sections whose default is another experiment: ``eps:`` left empty must not mean "the defaults".
_NOT_NULL = ("dataset", "model", "attacks", "eps", "evasion", "gradcam")


def _refuse_null(r: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in r and r[key] is None:
            raise HarnessError(
                f"{key}: expected a value, got null (leave the key out for the default)"
            )


def _epsilons(raw: Any) -> tuple[float, ...]:
    """The sweep's epsilons in pixel units: each in [0, 1], each once, increasing."""
    eps = _floats(raw, "eps") or Spec.eps
    for i, e in enumerate(eps):
        _eps(e, f"eps[{i}]")
        if e in eps[:i]:
            raise HarnessError(
                f"eps[{i}]: {e:g} is also eps[{eps.index(e)}]; expected each epsilon once"
            )
    if list(eps) != sorted(eps):
        raise HarnessError(f"eps: expected increasing epsilons, got {list(eps)}")
    return eps


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a raw spec mapping.

    A numeric part indexes a list: ``defences.1.eps=0.1``, ``attacks.0.steps=20``.
    """
    for item in overrides:
        if "=" not in item:
            raise HarnessError(
                f"--set {item!r}: expected key=value, e.g. seed=1 or defence.ratio=1"
            )
        key, _, text = item.partition("=")
        parts = key.strip().split(".")
        if not all(parts):
            raise HarnessError(
                f"--set {item!r}: expected key=value, e.g. seed=1 or defence.ratio=1"
            )
        value = _override_value(key.strip(), text)
        node: Any = raw
        for part, child_key in itertools.pairwise(parts):
            node = _child(node, part, key, mapping=not child_key.isdigit())
        _assign(node, parts[-1], value, key)
    return raw


def _override_value(key: str, text: str) -> Any:
    """The YAML value of ``--set key=text``, read with the spec's bounds; never empty."""
    if not text.strip():
        raise HarnessError(f"--set {key}=: empty value; give one (null clears a section)")
    if len(text) > MAX_SET_CHARS:  # characters: argv may hold undecodable bytes (surrogates)
        raise HarnessError(
            f"--set {key}: value too large; expected at most {MAX_SET_CHARS} characters"
        )
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        raise HarnessError(f"--set {key}: not a valid YAML value ({yaml_problem(exc)})") from None


def _child(node: Any, part: str, key: str, mapping: bool) -> Any:
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise HarnessError(f"--set {key}: {part!r} is not an index of a {len(node)}-item list")
        if isinstance(node[int(part)], str):  # `- fgsm` -> {name: fgsm}
            node[int(part)] = {"name": node[int(part)]}
        return node[int(part)]
    if not isinstance(node, dict):
        raise HarnessError(f"--set {key}: {part!r} is not inside a mapping or list")
    child = node.get(part)
    if child is None or child is False:
        child = node[part] = {} if mapping else []
    if not isinstance(child, dict | list):
        raise HarnessError(f"--set {key}: {part!r} is not a mapping")
    return child


def _assign(node: Any, part: str, value: Any, key: str) -> None:
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise HarnessError(f"--set {key}: {part!r} is not an index of a {len(node)}-item list")
        node[int(part)] = value
    else:
        node[part] = value


def load_spec(path: str | Path | None = None, overrides: list[str] | None = None) -> Spec:
    """Read a YAML spec file (default: the digits benchmark), apply overrides, validate."""
    path = Path(path) if path else DEFAULT_SPEC
    raw = read_spec_mapping(path)
    raw = apply_overrides(raw, overrides or [])
    try:
        return parse_spec(raw, source=str(path))
    except HarnessError as exc:
        raise HarnessError(f"{path}: {exc}") from None


def read_spec_mapping(path: Path) -> dict[str, Any]:
    """The spec file's top-level mapping, read with ``SpecLoader``; one line naming the file."""
    text = read_spec_text(path)
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        raise HarnessError(f"{path}: not valid YAML ({yaml_problem(exc)})") from None
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"a {type(raw).__name__}"
        raise HarnessError(
            f"{path}: expected a YAML mapping (key: value) at the top level, got {got}"
        )
    return raw
