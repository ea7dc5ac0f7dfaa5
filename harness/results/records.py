"""Result dataclasses: what a run produced, independent of how it is rendered.

``RunResult`` round-trips through JSON (``to_dict`` / ``from_dict``) except for the Grad-CAM
arrays, which the report renders to ``gradcam.png``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import stats
from harness.results.analyses import (
    AttackConfusion,
    AttentionRow,
    CertifiedCurve,
    EvasionRow,
    ExampleGrid,
    GradcamPanel,
    MinimalPerturbation,
    NoiseProbe,
    WeightAnalysis,
)
from harness.results.breakdowns import EnsembleBreakdown
from harness.results.checks import Check, ModelProbe
from harness.results.corruption import (
    CorruptionAccuracy,
    CorruptionCams,
    CorruptionReference,
)
from harness.results.flags import SampleFlags

METRICS = (
    "clean_accuracy",  # correct clean predictions / all test samples
    "robust_accuracy",  # correct under attack / all test samples
    "attack_success_rate",  # broken by the attack / clean-correct (attacked) samples
    "targeted_success_rate",  # predicted the target class / attacked samples (targeted attacks)
    "mean_linf",  # mean L-inf perturbation over attacked samples, pixel units
    "mean_l2",  # mean L2 perturbation over attacked samples, pixel units
)
CSV_COLUMNS = ("model", "attack", "eps", "metric", "value")


@dataclass(frozen=True)
class Measurement:
    """One row of ``results.csv``. ``eps`` in pixel units (0 for clean); values are fractions."""

    model: str  # "baseline", "robust", or a model name
    attack: str  # "none" for clean accuracy, else the attack's registered name
    eps: float
    metric: str  # one of METRICS
    value: float


@dataclass(frozen=True)
class AttackRecord:
    """What a run records about one attack it swept (run.json ``attacks``): enough to read the
    report, re-grade the sanity checks and compare runs without the attack's code."""

    name: str  # the run's name for it: the spec's label (e.g. "pgd50x10"), or "<label>_naive"
    attack: str  # the registered attack it ran (harness.attacks)
    norm: str = "linf"  # threat model: "linf" or "l2"; eps in this norm, pixel units
    params: dict[str, Any] = field(default_factory=dict)  # resolved parameters, pixel units
    sweep: str = ""  # how it was run over eps (harness.sweep.SWEEPS; "": an early run's record)
    naive_of: str | None = None  # a naive twin: the attack it repeats, crafted on the baseline
    composition: list[str] | None = None  # an ensemble: exactly what runs, one line a part

    @property
    def targeted(self) -> bool:
        return bool(self.params.get("targeted", False))

    def to_dict(self) -> dict[str, Any]:
        """run.json's form: the optional fields only when set (older runs read the same)."""
        d = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AttackRecord:
        """A record from run.json; one without ``attack`` (early runs) names its own attack."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**({"attack": d["name"]} | {k: v for k, v in d.items() if k in known}))


@dataclass(frozen=True)
class DefenceRecord:
    """What a run records about the defence that produced a model (run.json ``models[].defence``):
    enough for the report, and for ``harness.defences.restore`` to rebuild it without training."""

    name: str  # the registered defence (harness.defences)
    label: str  # the spec's key for the model it produced, e.g. "robust"
    arch: str | None  # the architecture of its network (None: the baseline's)
    params: dict[str, Any] = field(default_factory=dict)  # resolved parameters, pixel units
    train: dict[str, Any] | None = None  # the training settings it got (recipe defaults left out)

    def to_dict(self) -> dict[str, Any]:
        """run.json's form; ``train`` only when set (older runs read the same)."""
        d = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {k: v for k, v in d.items() if k != "train" or v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> DefenceRecord | None:
        """A record from run.json; an undefended model's (``{}`` or missing) is None."""
        if not d:
            return None
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**({"label": "", "arch": None} | {k: v for k, v in d.items() if k in known}))


@dataclass(frozen=True)
class DataSummary:
    """What a run records about its data (run.json ``data``): the dataset, its classes, input
    shape and split sizes. Keys an older or extended record holds beyond these stay in ``extra``
    and are written back as they were."""

    name: str = ""
    source: str = ""  # where the files came from (a folder, or e.g. "sklearn.datasets.load_digits")
    class_names: list[str] = field(default_factory=list)
    input_shape: list[int] = field(default_factory=list)  # (C, H, W)
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    test_class_counts: list[int] = field(default_factory=list)  # test samples per class
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """run.json's form: one flat mapping, ``extra``'s keys beside the named ones."""
        named = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {k: v for k, v in named.items() if k != "extra"} | _plain(self.extra)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSummary:
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        extra = {k: v for k, v in d.items() if k not in known}
        return cls(**{k: v for k, v in d.items() if k in known}, extra=extra)


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float = 0.0
    kept: bool = False  # train.keep: best -- the epoch whose weights the model ends with
    # FGSM-based training (harness.defences.overfitting): accuracy under PGD and FGSM at the
    # training eps on a held-out minibatch after the epoch (None: not monitored)
    pgd_acc: float | None = None
    fgsm_acc: float | None = None


@dataclass(frozen=True)
class ClassStats:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class ModelResult:
    role: str  # "baseline" / "robust"
    arch: str  # registered name or the user's builder
    n_params: int
    clean_accuracy: float
    per_class: list[ClassStats]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    history: list[EpochStats] = field(default_factory=list)  # empty when weights were loaded
    training: str = ""  # how it was obtained: "trained", "reused <path>", "loaded <path>"
    weights: str = ""  # path of the weights file
    gradcam_layer: str = ""  # name of the layer Grad-CAM used
    defence: DefenceRecord | None = None  # the defence that produced it; None: the baseline
    weight_analysis: WeightAnalysis | None = None  # histograms, norms, ESD alpha
    # trained now, resumed at this epoch from an epoch checkpoint (None: not resumed; run.json
    # leaves it out then)
    resumed_at: int | None = None


@dataclass(frozen=True)
class BatchFallback:
    """An out-of-memory error on a batch, retried at half its size (``harness.oom``)."""

    where: str  # what ran out of memory: "predict", "loss_gradient", "class_gradient", ...
    device: str  # the device it ran on, e.g. "cuda:0"
    batch_size: int  # samples in the batch that failed
    retried_with: int  # samples per batch from then on (halved, at least 1)


@dataclass(repr=False)
class RunResult:
    """Everything one run measured (run.json). In a notebook: ``result`` shows its verdict,
    ``result.to_dataframe()`` its measurements, ``result.report(folder)`` writes the report."""

    name: str
    spec: dict[str, Any]  # the resolved spec
    seed: int
    data: DataSummary  # the dataset: name, source, class names, split sizes, input shape
    models: list[ModelResult]
    measurements: list[Measurement]
    attacks: list[AttackRecord]  # every attack swept, with its resolved parameters
    evasion: list[EvasionRow] = field(default_factory=list)
    gradcam: GradcamPanel | None = None
    provenance: dict[str, Any] = field(default_factory=dict)  # versions, git, timings, hashes
    noise: list[NoiseProbe] = field(default_factory=list)
    minimal: list[MinimalPerturbation] = field(default_factory=list)
    examples: list[ExampleGrid] = field(default_factory=list)  # not stored in run.json
    sanity_probes: dict[str, ModelProbe] = field(default_factory=dict)  # per model role
    sanity: list[Check] = field(default_factory=list)
    attention: list[AttentionRow] = field(default_factory=list)  # Grad-CAM shift per model, eps
    certified: list[CertifiedCurve] = field(default_factory=list)  # randomized smoothing
    batch_fallbacks: list[BatchFallback] = field(default_factory=list)  # out of memory: halved
    corruptions: list[CorruptionAccuracy] = field(default_factory=list)  # common corruptions
    breakdowns: list[EnsembleBreakdown] = field(default_factory=list)  # per ensemble, model, eps
    corruption_reference: CorruptionReference | None = None  # a named model's published errors
    corruption_cams: CorruptionCams | None = None  # not stored in run.json
    flags: list[SampleFlags] = field(default_factory=list)  # per-image correctness (paired tests)
    attack_confusion: list[AttackConfusion] = field(default_factory=list)  # where attacks push

    def model(self, role: str) -> ModelResult:
        return next(m for m in self.models if m.role == role)

    def summary(self) -> str:
        """The verdict in a few lines: per model clean and robust accuracy at the headline ε
        with 95% intervals, and the sanity tally (what ``harness run`` prints at the end)."""
        from harness.verdict import summary_lines  # the verdict reads results: imported late

        head = f"{self.name}: {self.data.name}, seed {self.seed}, {len(self.models)} model(s)"
        return "\n".join([head, *summary_lines(self)])

    def __repr__(self) -> str:
        return f"<RunResult {self.summary()}>"

    def to_dataframe(self) -> Any:
        """The measurements as a pandas DataFrame: results.csv's five columns, then ``n`` (the
        images a fraction is counted over: all test images for accuracies, the clean-correct
        ones for success rates) and the 95% Wilson interval ``low``/``high`` (empty for
        perturbation sizes and where ``n`` is unknown)."""
        import pandas as pd

        rows = []
        for m in self.measurements:
            n, i = self.count_of(m), self.interval(m)
            low, high = (None, None) if i is None else (i.low, i.high)
            rows.append((m.model, m.attack, m.eps, m.metric, m.value, n, low, high))
        columns = [*CSV_COLUMNS, "n", "low", "high"]
        return pd.DataFrame(rows, columns=columns).astype({"n": "Int64"})

    def count_of(self, m: Measurement) -> int | None:
        """The images the fraction ``m`` is counted over: all test images for accuracies, the
        clean-correct ones for success rates; None for perturbation sizes and where unknown."""
        from harness.reading import denominator  # reading reads results: imported late

        return None if m.metric.startswith("mean_") else denominator(self, m.model, m.metric)

    def interval(self, m: Measurement) -> stats.Interval | None:
        """``m``'s value with its 95% Wilson interval; None where ``count_of`` is None."""
        n = self.count_of(m)
        return stats.share(m.value, n) if n else None

    def report(self, folder: str | Path) -> Path:
        """Write the report folder (report.md, report.html, results.csv, run.json, figures)."""
        from harness.report import write_report

        return write_report(self, folder)

    def value(self, model: str, attack: str, eps: float, metric: str) -> float:
        for m in self.measurements:
            if (m.model, m.attack, m.metric) == (model, attack, metric) and abs(
                m.eps - eps
            ) < 1e-12:
                return m.value
        raise KeyError((model, attack, eps, metric))

    def to_dict(self) -> dict[str, Any]:
        arrays = ("gradcam", "examples", "corruption_cams")
        d = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in arrays
        }
        if d["corruption_reference"] is None:
            d.pop("corruption_reference")  # run.json without one reads as before
        out = _plain(d)
        for m in out["models"]:
            if m["resumed_at"] is None:
                m.pop("resumed_at")  # a training not resumed: run.json reads as before
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        models = []
        for m in d["models"]:
            m = dict(m)
            m["per_class"] = [ClassStats(**c) for c in m["per_class"]]
            m["history"] = [EpochStats(**e) for e in m["history"]]
            m["defence"] = DefenceRecord.from_dict(m.get("defence"))
            if m.get("weight_analysis") is not None:
                m["weight_analysis"] = WeightAnalysis(**m["weight_analysis"])
            models.append(ModelResult(**m))
        return cls(
            name=d["name"],
            spec=d["spec"],
            seed=d["seed"],
            data=DataSummary.from_dict(d["data"]),
            models=models,
            measurements=[Measurement(**m) for m in d["measurements"]],
            attacks=[AttackRecord.from_dict(a) for a in d["attacks"]],
            evasion=[EvasionRow(**e) for e in d.get("evasion", [])],
            provenance=d.get("provenance", {}),
            noise=[NoiseProbe(**p) for p in d.get("noise", [])],
            minimal=[MinimalPerturbation(**m) for m in d.get("minimal", [])],
            sanity_probes={
                k: ModelProbe.from_dict(v) for k, v in d.get("sanity_probes", {}).items()
            },
            sanity=[Check.from_dict(c) for c in d.get("sanity", [])],
            attention=[AttentionRow(**a) for a in d.get("attention", [])],
            certified=[CertifiedCurve(**c) for c in d.get("certified", [])],
            batch_fallbacks=[BatchFallback(**b) for b in d.get("batch_fallbacks", [])],
            corruptions=[CorruptionAccuracy(**c) for c in d.get("corruptions", [])],
            breakdowns=[EnsembleBreakdown.from_dict(b) for b in d.get("breakdowns", [])]
            + [EnsembleBreakdown.from_part_breaks(b) for b in d.get("part_breaks", [])],
            corruption_reference=_named(d.get("corruption_reference")),
            flags=[SampleFlags.from_dict(f) for f in d.get("flags", [])],
            attack_confusion=[AttackConfusion(**c) for c in d.get("attack_confusion", [])],
        )


def _plain(obj: Any) -> Any:
    """Dataclasses, tuples and numpy scalars -> JSON-ready Python values; a record with its own
    run.json form (``to_dict``) gives that."""
    if callable(getattr(obj, "to_dict", None)) and not isinstance(obj, type):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _named(d: dict[str, Any] | None) -> CorruptionReference | None:
    return None if d is None else CorruptionReference(**d)
