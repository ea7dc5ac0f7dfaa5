"""The Break phase for one model: clean predictions once, then every attack at every epsilon.

Samples misclassified clean count as broken at every epsilon and are never attacked, so robust
accuracy is over all test samples and attack success rate over the clean-correct ones. Results
are kept per sample (``AttackOutcome``) so that ensembles take the per-sample worst case.

How an attack is swept depends on its ``sweep`` strategy (``AttackDef.sweep``):

- ``one_step`` (FGSM): the gradient sign does not depend on eps, so it is computed once per
  sample and each eps costs one forward pass; the numbers are those of running ART's FGSM once
  per eps (same batches, same gradient, same clipping).
- ``nested`` (iterative attacks): an example found inside a smaller ball is inside every larger
  ball, so a sample broken at eps_i stays broken at every eps_j > eps_i and only the survivors
  are attacked at the next eps. Robust accuracy is never higher than the naive loop's. An attack
  with ``warm_start: true`` (PGD) starts each survivor from its example at the previous eps, so
  the steps already taken are not thrown away.
- ``independent``: the naive loop, every clean-correct sample attacked at every eps.

The test set is worked through in chunks of about ``harness.batching.CHUNK_BYTES`` of float32 input (a whole
number of every batch involved), read from the dataset only when their turn comes, and only
per-sample results are kept: a test set larger than memory is never held. Chunks hold whole
batches, so each batch sees the same samples as in one pass over the set, and a deterministic
attack (FGSM) gives the same bits however the set is cut. An attack that draws random numbers
per sample (PGD's random starts, random targets: ``AttackDef.draws``) draws them from each
sample's key (its test index, the run's seed, the attack; ``harness.attacks.keyed``), so its
numbers do not depend on the cut either; one that draws per call (ART's Square, AutoAttack)
draws per chunk, so on a set larger than one chunk its numbers differ from one pass's (not its
statistics).

An outcome also keeps the adversarial images of a few test samples named by ``keep`` (the
pictures' images), so that the example grids and Grad-CAM show what the sweep counted without
attacking those images again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from harness import console, metrics
from harness.attacks import attack_labels, generate, project
from harness.attacks.keyed import SampleKeys
from harness.attacks.planned import PlannedAttack
from harness.batching import chunk_size, chunks
from harness.datasets.lazy import ImageArray
from harness.finite import require_finite
from harness.provenance import timed
from harness.results import Measurement

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier


@dataclass(frozen=True)
class CleanEval:
    pred: np.ndarray  # (N,) int64 predicted classes
    probs: np.ndarray  # (N, K) softmax probabilities

    def correct(self, y: np.ndarray) -> np.ndarray:
        return self.pred == y


@dataclass(frozen=True)
class AttackOutcome:
    """Per-sample results of one attack over the eps sweep, for all N test samples."""

    attack: str
    eps: tuple[float, ...]
    robust: np.ndarray  # (E, N) bool: still correct under attack (False where wrong clean)
    attacked: np.ndarray  # (N,) bool: the samples the attack was run on
    linf: np.ndarray  # (E, N) float: perturbation norms (NaN where not attacked)
    l2: np.ndarray
    hit: np.ndarray | None = None  # (E, N) bool: predicted the target class (targeted attacks)
    # the sweep's example of each of the ``kept`` test samples at each eps, (E, len(kept), *x):
    # the image that counted (a nested sweep's from the eps that broke it; x itself where the
    # sample was not attacked: wrong when clean, or already of the target class)
    kept: tuple[int, ...] = ()
    images: np.ndarray | None = None
    # (E, N) int: the class predicted on the image that counted (the clean prediction where the
    # sample was not attacked); None for a combination of attacks (the worst case)
    pred: np.ndarray | None = None

    def measurements(self, model: str) -> list[Measurement]:
        rows = []
        for e, eps in enumerate(self.eps):
            values = {
                "robust_accuracy": metrics.robust_accuracy(self.robust[e], self.robust.shape[1]),
                "attack_success_rate": metrics.attack_success_rate(self.robust[e][self.attacked]),
                "mean_linf": _nanmean(self.linf[e]),
                "mean_l2": _nanmean(self.l2[e]),
            }
            if self.hit is not None:
                values["targeted_success_rate"] = (
                    float(np.mean(self.hit[e][self.attacked])) if self.attacked.any() else 0.0
                )
            require_finite(
                np.array(list(values.values())), f"{self.attack} at eps {eps:g}: metrics"
            )
            rows += [Measurement(model, self.attack, float(eps), k, v) for k, v in values.items()]
        return rows


def _nanmean(v: np.ndarray) -> float:
    v = v[~np.isnan(v)]
    return float(v.mean()) if len(v) else 0.0


def clean_eval(classifier: PyTorchClassifier, x: ImageArray, batch_size: int) -> CleanEval:
    """Predictions on clean inputs, in eval mode (ART's ``predict`` uses ``training_mode=False``),
    chunk by chunk: x (N, C, H, W) is read a chunk at a time."""
    size = chunk_size(x.shape[1:], batch_size)
    logits = np.concatenate(
        [classifier.predict(x[s], batch_size=batch_size) for s in chunks(len(x), size)]
    )
    require_finite(logits, "clean evaluation: the model's outputs")
    return CleanEval(pred=logits.argmax(1).astype(np.int64), probs=metrics.softmax(logits))


def attack_sweep(
    classifier: PyTorchClassifier,
    planned: PlannedAttack,
    x: ImageArray,
    y: np.ndarray,
    clean: CleanEval,
    eps_list: Sequence[float],
    batch_size: int,
    keep: Sequence[int] = (),
) -> AttackOutcome:
    """Run one attack over increasing ``eps_list`` on the clean-correct samples of (x, y),
    a chunk of them at a time (see the module docstring); ``keep``: test indices whose
    adversarial images the outcome keeps (``AttackOutcome.images``)."""
    attacked = clean.correct(y)
    keys = planned.keys(np.arange(len(y)))  # x is the test set: a position is a test index
    labels = attack_labels(planned.params, y, classifier.nb_classes, keys)
    if planned.targeted:  # a sample already of the target class has nothing to move to
        attacked &= labels != y
    idx = np.flatnonzero(attacked)
    kept = np.asarray(keep, dtype=np.int64)
    swept = np.intersect1d(kept, idx)  # sorted: the order of their positions in idx
    job = _Job(classifier, planned, tuple(eps_list), batch_size)
    adv_pred, linf, l2, adv = _chunked(job, x, y, keys[idx], idx, np.searchsorted(idx, swept))
    n, e = len(y), len(eps_list)
    robust = np.zeros((e, n), bool)
    robust[:, clean.correct(y)] = True  # targeted: untouched samples stay correct
    robust[:, idx] = adv_pred == y[idx]
    full_linf, full_l2 = np.full((e, n), np.nan), np.full((e, n), np.nan)
    full_linf[:, idx], full_l2[:, idx] = linf, l2
    hit = None
    if planned.targeted:
        hit = np.zeros((e, n), bool)
        hit[:, idx] = adv_pred == labels[idx]
    images = _kept_images(x, kept, swept, adv, len(eps_list)) if len(kept) else None
    pred = np.repeat(clean.pred[None], e, axis=0)
    pred[:, idx] = adv_pred
    return AttackOutcome(
        planned.name, tuple(eps_list), robust, attacked, full_linf, full_l2, hit,
        tuple(int(k) for k in kept), images, pred,
    )  # fmt: skip


def _kept_images(
    x: ImageArray, kept: np.ndarray, swept: np.ndarray, adv: np.ndarray, n_eps: int
) -> np.ndarray:
    """(E, len(kept), *x) images: the sweep's for ``swept`` (adv, in their sorted order), x's
    own for the kept samples it did not attack."""
    clean = np.asarray(x[kept], dtype=np.float32)
    out = np.repeat(clean[None], n_eps, axis=0)
    for j, k in enumerate(kept):
        if (pos := np.searchsorted(swept, k)) < len(swept) and swept[pos] == k:
            out[:, j] = adv[:, pos]
    return out


@dataclass(frozen=True)
class _Job:
    """One attack's sweep against one model: what every chunk of it shares."""

    classifier: PyTorchClassifier
    planned: PlannedAttack
    eps_list: tuple[float, ...]
    batch_size: int  # of the forward passes that judge the examples


@dataclass(frozen=True)
class _Chunk:
    """The samples one sweeper call works on: inputs, true labels, their random keys, and the
    positions (sorted) among them whose adversarial images are kept."""

    x: np.ndarray
    y: np.ndarray
    keys: SampleKeys
    keep: np.ndarray


def _chunked(job: _Job, x: ImageArray, y: np.ndarray, keys: SampleKeys, idx, keep):
    """The attack's sweep over samples ``idx`` of (x, y) (``keys``: theirs), chunk by chunk:
    (pred, linf, l2), each (E, len(idx)), as one sweep over them all would give (module
    docstring), and the images of positions ``keep`` (sorted) of idx."""
    sweeper = _SWEEPS[job.planned.definition.sweep]
    size = chunk_size(x.shape[1:], job.batch_size, int(job.planned.params.get("batch_size", 1)))
    parts = []
    for s in chunks(len(idx), size):
        local = keep[(keep >= s.start) & (keep < s.stop)] - s.start
        parts.append(sweeper(job, _Chunk(x[idx[s]], y[idx[s]], keys[s], local)))
    return tuple(np.concatenate([p[i] for p in parts], axis=1) for i in range(4))


def _predict(
    classifier: PyTorchClassifier, x: np.ndarray, batch_size: int, what: str
) -> np.ndarray:
    """The classes predicted on x; ``what``: the stage, for a model whose outputs are not finite."""
    if not len(x):
        return np.zeros(0, np.int64)
    logits = classifier.predict(x, batch_size=batch_size)
    return require_finite(logits, f"{what}: the model's outputs").argmax(1)


def _per_eps(job: _Job, x: np.ndarray, make_adv: Callable[[float], np.ndarray], keep, clean=None):
    """Predictions and perturbation norms of ``make_adv(eps)`` for each eps, each (E, n), and
    the images of positions ``keep``; ``clean``: the predictions at x (eps 0) when known."""
    preds, linfs, l2s, kept = [], [], [], []
    eps_list = job.eps_list
    for eps in eps_list:
        x_adv = x.copy() if eps == 0 else make_adv(eps)
        known = eps == 0 and clean is not None
        at = f"{job.planned.name} at eps {eps:g}"
        preds.append(clean if known else _predict(job.classifier, x_adv, job.batch_size, at))
        linf, l2 = metrics.perturbation_norms(x, x_adv)
        linfs.append(linf)
        l2s.append(l2)
        kept.append(np.asarray(x_adv[keep], dtype=np.float32))
    preds = np.array(preds).reshape(len(eps_list), len(x))
    return preds, np.array(linfs), np.array(l2s), _stacked(kept, x, keep)


def _stacked(kept: list[np.ndarray], x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The kept images per eps as one (E, len(keep), *x) array (E may be 0)."""
    return np.stack(kept) if kept else np.zeros((0, len(keep), *x.shape[1:]), np.float32)


def _independent(job: _Job, c: _Chunk):
    """The naive loop: every sample attacked afresh at every eps (crafted on the surrogate, if any)."""
    make = lambda e: job.planned.craft(job.classifier, c.x, c.y, e, c.keys)  # noqa: E731
    return _per_eps(job, c.x, make, c.keep)


def _one_step(job: _Job, c: _Chunk):
    """FGSM-like: one direction per sample, then x + eps * direction clipped to [0, 1] per eps;
    eps 0 is predicted by the forward pass the direction's gradient took."""
    planned, x = job.planned, c.x
    logits, direction = planned.definition.step(job.classifier, planned.params, x, c.y, c.keys)
    step = lambda e: np.clip(x + np.float32(e) * direction, 0.0, 1.0)  # noqa: E731
    return _per_eps(job, x, step, c.keep, logits.argmax(1))


def _project_once(job: _Job, c: _Chunk):
    """Minimal-perturbation attacks ignore eps until ``EpsBall`` projects: run once, project per eps."""
    d, x = job.planned.definition, c.x
    unbounded = 1.0 if d.norm == "linf" else float(np.sqrt(np.prod(x.shape[1:])))  # covers [0, 1]^n
    x_min = generate(job.classifier, d, job.planned.params, x, c.y, unbounded, c.keys)
    shrink = lambda e: project(x, x_min, e, d.norm)  # noqa: E731
    return _per_eps(job, x, shrink, c.keep)


def _nested(job: _Job, c: _Chunk):
    """Survivors only: a sample broken at eps_i counts as broken at every larger eps. With the
    attack's ``warm_start``, a survivor starts from its iterate at the previous eps (projected
    onto the larger ball) instead of afresh."""
    classifier, planned, x, y, keep = job.classifier, job.planned, c.x, c.y, c.keep
    eps_list, batch_size = job.eps_list, job.batch_size
    labels = attack_labels(planned.params, y, classifier.nb_classes, c.keys)
    success = (lambda p, k: p == labels[k]) if planned.targeted else (lambda p, k: p != y[k])
    warm = False  # becomes the attack's warm_start once some eps has been attacked
    best = x.copy()  # the adversarial example kept for each sample so far
    pred = y.copy()  # attack_sweep passes clean-correct samples only: no forward pass needed
    alive = np.ones(len(x), bool)
    preds, linfs, l2s, kept = [], [], [], []
    for eps in eps_list:
        k = np.flatnonzero(alive)
        if eps > 0 and len(k):
            start = {"x_init": project(x[k], best[k], eps, planned.definition.norm)} if warm else {}
            x_adv = generate(
                classifier, planned.definition, planned.params, x[k], y[k], eps, c.keys[k], **start
            )
            p = _predict(classifier, x_adv, batch_size, f"{planned.name} at eps {eps:g}")
            best[k], pred[k] = x_adv, p  # a failed attempt is still this eps's example
            alive[k[success(p, k)]] = False
            warm = bool(planned.params.get("warm_start", False))
        linf, l2 = metrics.perturbation_norms(x, best)
        preds.append(pred.copy())
        linfs.append(linf)
        l2s.append(l2)
        kept.append(np.asarray(best[keep], dtype=np.float32))
    preds = np.array(preds).reshape(len(eps_list), len(x))
    return preds, np.array(linfs), np.array(l2s), _stacked(kept, x, keep)


_SWEEPS = {
    "independent": _independent,
    "nested": _nested,
    "one_step": _one_step,
    "project_once": _project_once,
}


def worst_case(outcomes: Sequence[AttackOutcome], name: str = "worst_case") -> AttackOutcome | None:
    """Per-sample worst case over attacks sharing the same eps: robust only if every attack failed."""
    if len(outcomes) < 2:
        return None
    eps = outcomes[0].eps
    if any(o.eps != eps for o in outcomes):
        return None
    robust = np.logical_and.reduce([o.robust for o in outcomes])
    attacked = np.logical_or.reduce([o.attacked for o in outcomes])
    nan = np.full(robust.shape, np.nan)
    return AttackOutcome(name, eps, robust, attacked, nan, nan)


def sweep(
    model_name: str,
    classifier: PyTorchClassifier,
    x: ImageArray,
    y: np.ndarray,
    clean: CleanEval,
    attacks: Sequence[PlannedAttack],
    eps_list: Sequence[float],
    batch_size: int,
    keep: Sequence[int] = (),
) -> tuple[list[Measurement], list[AttackOutcome]]:
    """Measurements for one model: clean accuracy, then every attack (and the worst case);
    ``keep``: test indices whose adversarial images each outcome keeps."""
    rows = [Measurement(model_name, "none", 0.0, "clean_accuracy", metrics.accuracy(clean.pred, y))]
    outcomes = []
    for planned in console.bar(attacks, desc=f"attacking {model_name}", unit="attack"):
        with timed("attack", model_name, samples=len(x), name=planned.name):  # run.json's timings
            args = (classifier, planned, x, y, clean, eps_list, batch_size, keep)
            outcomes.append(attack_sweep(*args))
        rows += outcomes[-1].measurements(model_name)
    untargeted = [o for o, p in zip(outcomes, attacks, strict=True) if not p.targeted]
    return rows + worst_case_rows(model_name, untargeted), outcomes


def worst_case_rows(model_name: str, untargeted: Sequence[AttackOutcome]) -> list[Measurement]:
    """Robust accuracy and attack success rate of the per-sample worst case over the untargeted
    attacks' outcomes (none for fewer than two: the worst case would be the attack itself)."""
    combined = worst_case(untargeted)
    if combined is None:
        return []
    return [
        m
        for m in combined.measurements(model_name)
        if m.metric in ("robust_accuracy", "attack_success_rate")
    ]
