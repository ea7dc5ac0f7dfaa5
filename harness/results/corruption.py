"""Common-corruption results and their standard metrics (Hendrycks & Dietterich, ICLR 2019).

E_{s,c} is a model's top-1 error under corruption c at severity s, E_clean its clean error,
E^ref the reference model's (the run's baseline: its mCE is 100 by construction).

- corruption accuracy: 1 - E_{s,c}, one per (corruption, severity);
- mean corruption accuracy: their mean over every corruption and severity evaluated
  (RobustBench's "common corruptions" number; over all 75 for the full benchmark);
- corruption error CE_c = sum_s E_{s,c} / sum_s E^ref_{s,c}; mCE: the mean of CE_c, in %;
- relative CE_c = sum_s (E_{s,c} - E_clean) / sum_s (E^ref_{s,c} - E^ref_clean); relative mCE:
  their mean, in %; how much a model degrades relative to the reference's degradation.

Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness import stats
from harness.results import bits
from harness.stats import Interval

CSV_PREFIX = "corruption:"  # results.csv: attack "corruption:<name>", eps = severity (integer)
CSV_METRIC = "corruption_accuracy"


@dataclass(frozen=True)
class CorruptionAccuracy:
    """One model's accuracy on the test set under one corruption at one severity."""

    model: str
    corruption: str  # imagecorruptions' name, e.g. "gaussian_noise"
    family: str  # noise, blur, weather, digital, extra
    severity: int  # 1-5
    accuracy: float  # correct / all corrupted test samples
    n: int  # corrupted test samples
    source: str = "generated"  # "generated" (imagecorruptions) or the CIFAR-C folder read
    correct: str = ""  # which of the n images it got right (harness.results.bits); "": not kept
    # whose severity parameters generated the set (harness.corruptions.scales: cifar,
    # tiny_imagenet, imagenet); "": read from files, or a result from before the choice existed
    parameters: str = ""

    def correct_mask(self) -> np.ndarray | None:
        """The per-image correctness (n booleans, test order), None when it was not kept."""
        return bits.unpack(self.correct, (self.n,)) if self.correct else None


@dataclass(frozen=True)
class CorruptionSummary:
    """A model's corruption metrics against the reference model ``reference``."""

    model: str
    reference: str
    clean_accuracy: float
    mean_corruption_accuracy: float
    mce: float  # %, 100 for the reference itself
    relative_mce: float  # %, NaN when the reference does not degrade on any corruption
    ce: dict[str, float]  # corruption -> CE_c in %
    relative_ce: dict[str, float]  # corruption -> relative CE_c in %


@dataclass(frozen=True)
class CorruptionReference:
    """A named model's published errors (``corruptions.reference``), as the run read them."""

    name: str
    errors: dict[str, dict[str, float]]  # corruption -> severity ("1".."5", or "all") -> error
    clean_error: float | None  # None: not given, so no relative mCE against it
    source: str  # the file read

    def severity_errors(self, corruption: str, severities: Iterable[int]) -> dict[int, float]:
        """Errors at ``severities``: the per-severity ones, else the "all" average for each."""
        given = self.errors.get(corruption, {})
        out = {s: given[str(s)] for s in severities if str(s) in given}
        if "all" in given:
            out = {s: out.get(s, given["all"]) for s in severities}
        return out


@dataclass
class CorruptionCams:
    """Grad-CAM on corrupted copies of the Grad-CAM panel's images (``GradcamPanel``: the same
    test indices), to set beside their clean and adversarial CAMs. Arrays: not in run.json."""

    corruption: str
    severity: int
    indices: list[int]  # the Grad-CAM panel's test indices
    images: np.ndarray  # (K, C, H, W) corrupted, float32 in [0, 1]
    cams: dict[str, np.ndarray] = field(default_factory=dict)  # model -> (K, H, W) in [0, 1]
    preds: dict[str, list[str]] = field(default_factory=dict)  # model -> class names


def worst_corruption(rows: Sequence[CorruptionAccuracy]) -> tuple[str, int] | None:
    """The corruption the first model loses most accuracy on (mean over severities), at the
    middle of the severities evaluated: the one worth looking at (None: no rows)."""
    if not rows:
        return None
    means = corruption_means(rows, rows[0].model)
    severities = sorted({r.severity for r in rows})
    return min(means, key=lambda c: means[c]), severities[len(severities) // 2]


def errors(rows: Iterable[CorruptionAccuracy], model: str) -> dict[str, dict[int, float]]:
    """corruption -> severity -> top-1 error of ``model``."""
    out: dict[str, dict[int, float]] = {}
    for r in rows:
        if r.model == model:
            out.setdefault(r.corruption, {})[r.severity] = 1.0 - r.accuracy
    return out


def corruption_error(
    err: dict[int, float], ref: dict[int, float], clean: float = 0.0, ref_clean: float = 0.0
) -> float:
    """CE_c in % over the severities both share (``clean``/``ref_clean`` given: relative CE_c)."""
    shared = sorted(set(err) & set(ref))
    den = sum(ref[s] - ref_clean for s in shared)
    num = sum(err[s] - clean for s in shared)
    return 100.0 * num / den if den > 0 else float("nan")


def summarize(
    rows: Sequence[CorruptionAccuracy], clean: dict[str, float], reference: str
) -> list[CorruptionSummary]:
    """Every model's summary against ``reference``; ``clean``: model -> clean accuracy."""
    ref = errors(rows, reference)
    ref_clean = 1.0 - clean[reference]
    return [_summary(rows, m, clean[m], reference, ref, ref_clean) for m in _models(rows)]


def summarize_named(
    rows: Sequence[CorruptionAccuracy], clean: dict[str, float], named: CorruptionReference
) -> list[CorruptionSummary]:
    """Every model's summary against a named model's published errors (AlexNet-style mCE).
    CE_c is taken over the severities both have; the relative mCE needs its clean error."""
    severities = sorted({r.severity for r in rows})
    ref = {c: named.severity_errors(c, severities) for c in named.errors}
    ref_clean = float("nan") if named.clean_error is None else named.clean_error
    return [_summary(rows, m, clean[m], named.name, ref, ref_clean) for m in _models(rows)]


def _summary(
    rows: Sequence[CorruptionAccuracy],
    model: str,
    clean_acc: float,
    reference: str,
    ref: dict[str, dict[int, float]],
    ref_clean: float,
) -> CorruptionSummary:
    err = errors(rows, model)
    ce = {c: corruption_error(e, ref.get(c, {})) for c, e in err.items()}
    rel = {c: corruption_error(e, ref.get(c, {}), 1 - clean_acc, ref_clean) for c, e in err.items()}
    accs = [r.accuracy for r in rows if r.model == model]
    return CorruptionSummary(
        model=model,
        reference=reference,
        clean_accuracy=clean_acc,
        mean_corruption_accuracy=float(np.mean(accs)) if accs else float("nan"),
        mce=_mean(ce.values()),
        relative_mce=_mean(rel.values()),
        ce=ce,
        relative_ce=rel,
    )


def _mean(values: Iterable[float]) -> float:
    v = [x for x in values if not np.isnan(x)]
    return float(np.mean(v)) if v else float("nan")


def _models(rows: Iterable[CorruptionAccuracy]) -> list[str]:
    return list(dict.fromkeys(r.model for r in rows))


def csv_rows(rows: Iterable[CorruptionAccuracy]) -> list[tuple[str, str, float, str, float]]:
    """``results.csv`` rows (model, attack, eps, metric, value), appended after the attacks':
    attack ``corruption:<name>``, eps column = the severity, metric ``corruption_accuracy``."""
    return [(r.model, CSV_PREFIX + r.corruption, r.severity, CSV_METRIC, r.accuracy) for r in rows]


def is_corruption_row(attack: str) -> bool:
    """A results.csv row written by ``csv_rows`` (read back from run.json, not as an attack)."""
    return attack.startswith(CSV_PREFIX)


def accuracy_grid(
    rows: Sequence[CorruptionAccuracy], model: str
) -> tuple[list[str], list[int], np.ndarray]:
    """``model``'s accuracies as (corruptions, severities, array[corruption, severity]); NaN
    where a pair was not evaluated."""
    mine = [r for r in rows if r.model == model]
    names = list(dict.fromkeys(r.corruption for r in mine))
    severities = sorted({r.severity for r in mine})
    grid = np.full((len(names), len(severities)), np.nan)
    for r in mine:
        grid[names.index(r.corruption), severities.index(r.severity)] = r.accuracy
    return names, severities, grid


def family_means(rows: Sequence[CorruptionAccuracy]) -> dict[str, dict[str, float]]:
    """model -> family -> mean accuracy over the family's corruptions and severities."""
    acc: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        acc.setdefault(r.model, {}).setdefault(r.family, []).append(r.accuracy)
    return {m: {f: float(np.mean(v)) for f, v in fams.items()} for m, fams in acc.items()}


def mean_interval(
    rows: Sequence[CorruptionAccuracy], model: str, corruption: str | None = None
) -> Interval:
    """``model``'s mean accuracy over its (corruption, severity) cells (those of ``corruption``
    alone when given) with its 95% interval, the images being the independent units
    (``stats.mean_share`` on each image's share right). Without the per-image results, or when
    the cells hold different images, the Wilson interval of the mean at the images' count, which
    is never narrower (an image's share varies at most as one yes-or-no would)."""
    mine = [r for r in rows if r.model == model and corruption in (None, r.corruption)]
    if not mine:
        return Interval(math.nan, math.nan, math.nan)
    mean = float(np.mean([r.accuracy for r in mine]))
    masks = [r.correct_mask() for r in mine]
    if all(m is not None for m in masks) and len({r.n for r in mine}) == 1:
        return stats.mean_share(np.mean(np.stack(masks), axis=0), len(mine))
    return stats.share(mean, min(r.n for r in mine))


def corruption_means(rows: Sequence[CorruptionAccuracy], model: str) -> dict[str, float]:
    """corruption -> ``model``'s mean accuracy over the severities evaluated."""
    names, _, grid = accuracy_grid(rows, model)
    return {c: float(np.nanmean(grid[i])) for i, c in enumerate(names)}


def compare_columns(
    rows: Sequence[CorruptionAccuracy], clean: dict[str, float], role: str
) -> dict[str, float]:
    """``harness compare``'s columns for ``role`` of one run (none without corruption rows):
    mean corruption accuracy and mCE relative to that run's baseline (else its first model)."""
    models = _models(rows)
    if role not in models:
        return {}
    ref = "baseline" if "baseline" in models else models[0]
    s = next(s for s in summarize(rows, clean, ref) if s.model == role)
    return {"mean_corruption_accuracy": s.mean_corruption_accuracy, "mce": s.mce}
