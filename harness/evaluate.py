"""Break: every analysis of every model, as typed records ready for a ``RunResult``.

Each model is evaluated by ``ANALYSES``, an ordered list of functions ``(Context, Subject) ->
list of records``: the attack sweep, certificates, sanity probes, the model's summary, example
grids, the evasion table, the spec's probes. A record's type says which ``RunResult`` field it
belongs to (``FIELDS``). The order is part of the results: attacks with random starts draw from
the global generators, so an analysis added in the middle changes the ones after it.

Adding an analysis is one function here plus one line in ``ANALYSES`` (and, for a new record
type, one line in ``FIELDS``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from art.estimators.classification import PyTorchClassifier
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from harness import pictures
from harness.attacks.autoattack_parts import recording
from harness.attacks.planned import PlannedAttack
from harness.breakdown import breakdowns
from harness.corruptions import evaluate as corruptions
from harness.corruptions.cams import corruption_cams
from harness.datasets import Dataset
from harness.estimator import build_classifier
from harness.evasion import eps_grid, pick_per_class, smallest_flips
from harness.explain import cam_layer
from harness.masking import part_breaks
from harness.model_probe import probe_model
from harness.models import Trained
from harness.plan import Plan, attack_records, bind
from harness.provenance import Timer, timed
from harness.results import (
    AttackConfusion,
    CertifiedCurve,
    ClassStats,
    EnsembleBreakdown,
    EvasionRow,
    ExampleGrid,
    Measurement,
    MinimalPerturbation,
    ModelProbe,
    ModelResult,
    NoiseProbe,
    WeightAnalysis,
)
from harness.results.corruption import CorruptionAccuracy
from harness.results.flags import CLEAN, SampleFlags, flags
from harness.sanity import checks
from harness.spec import Spec
from harness.sweep import AttackOutcome, CleanEval, clean_eval, sweep, worst_case
from harness.weights import analyse


@dataclass(frozen=True)
class Context:
    """What every analysis of a run sees."""

    spec: Spec
    data: Dataset
    plan: Plan
    classifiers: dict[str, PyTorchClassifier]  # model role -> its classifier
    picks: list[int]  # test indices for the pictures and the evasion table, classes in turn
    # (model role, attack name) -> its sweep, holding its adversarial images of the pictures'
    # test images (``shown``): the example grids, Grad-CAM and attention shift show those
    swept: pictures.Swept = field(default_factory=dict)

    @property
    def shown(self) -> list[int]:
        """The test images of the pictures (example grids, Grad-CAM, attention shift)."""
        return self.picks[: self.spec.gradcam.n_images]


@dataclass(frozen=True)
class Subject:
    """The model under evaluation, its classifier and its clean predictions on the test set."""

    trained: Trained
    clf: PyTorchClassifier
    clean: CleanEval


Analysis = Callable[[Context, Subject], list[Any]]


def evaluate(spec: Spec, data: Dataset, plan: Plan, trained: list[Trained], timer: Timer) -> dict:
    """Every model through ``ANALYSES`` (phase "break"), the sanity checks over all of them, then
    the pictures (phase "explain"): ``RunResult`` fields by name."""
    picks = pick_per_class(data.y_test, max(spec.evasion.n_images, spec.gradcam.n_images))
    classifiers = {
        t.role: build_classifier(t.model, data.input_shape, data.num_classes) for t in trained
    }
    ctx = Context(spec, data, plan, classifiers, picks)
    fields: dict[str, Any] = {"attacks": attack_records(plan, data.num_classes)}
    per_model = []
    for t in trained:
        with timer.phase("break"):
            per_model.append((t.role, evaluate_model(ctx, t)))
    fields |= gather(per_model)
    k = data.num_classes
    histories = {m.role: m.history for m in fields["models"]}
    fields["sanity"] = checks(
        fields["measurements"],
        fields["attacks"],
        fields["sanity_probes"],
        k,
        fields["breakdowns"],
        histories,
    )
    with timer.phase("explain"):
        shown = pictures.Shown(spec, data, plan.attacks[0], ctx.shown, ctx.swept)
        fields["gradcam"] = pictures.gradcam_panel(shown, trained, classifiers)
        fields["corruption_cams"] = corruption_cams(
            fields["gradcam"],
            fields["corruptions"],
            trained,
            classifiers,
            data.class_names,
            spec.seed,
        )
        attention = spec.gradcam.attention
        fields["attention"] = pictures.attention(shown, trained, classifiers) if attention else []
    return fields


def evaluate_model(ctx: Context, t: Trained) -> list[Any]:
    """Every record ``ANALYSES`` produce for model ``t``, in their order."""
    clf, x = ctx.classifiers[t.role], ctx.data.x_test
    with timed("clean", t.role, samples=len(x)):
        subject = Subject(t, clf, clean_eval(clf, x, ctx.spec.eval_batch_size))
    return [record for analysis in ANALYSES for record in analysis(ctx, subject)]


def attack_model(
    spec: Spec, plan: Plan, t: Trained, classifiers: dict, data: Dataset
) -> tuple[CleanEval, list[Measurement], list[AttackOutcome]]:
    """Model ``t``'s clean predictions, then the plan's attacks over the spec's epsilons (and
    the naive attacks, crafted on the baseline, when ``t`` puts a defence in front of it)."""
    clean = clean_eval(classifiers[t.role], data.x_test, spec.eval_batch_size)
    return (clean, *_swept(spec, plan, t, classifiers, data, clean))


def _swept(
    spec: Spec,
    plan: Plan,
    t: Trained,
    classifiers: dict,
    data: Dataset,
    clean: CleanEval,
    planned: list[PlannedAttack] | None = None,
    keep: Sequence[int] = (),
) -> tuple[list[Measurement], list[AttackOutcome]]:
    planned = _planned(plan, t, classifiers) if planned is None else planned
    x, y, clf = data.x_test, data.y_test, classifiers[t.role]
    return sweep(t.role, clf, x, y, clean, planned, spec.eps, spec.eval_batch_size, keep)


def _planned(plan: Plan, t: Trained, classifiers: dict) -> list[PlannedAttack]:
    """The plan's attacks bound to model ``t`` (naive ones too when ``t`` wraps the baseline)."""
    naive = bind(plan.naive, t.role, classifiers) if t.wraps else []
    planned = bind(plan.attacks, t.role, classifiers) + naive
    return [_rand_version(p) for p in planned] if t.randomized else planned


def _rand_version(p: PlannedAttack) -> PlannedAttack:
    """On a randomized model an ensemble with versions runs its "rand" one (AutoAttack's EoT
    version, Croce & Hein 2020), as the reference prescribes for randomized defences."""
    if not (p.definition.ensemble and p.params.get("version") == "standard"):
        return p
    return dataclasses.replace(p, params={**p.params, "version": "rand"})


# ---------------------------------------------------------------- the analyses


def attack_sweep(ctx: Context, s: Subject) -> list[Measurement | EnsembleBreakdown]:
    """Clean accuracy, then every attack (naive ones on a defence in front of the baseline);
    then what each part of every ensemble broke first (``harness.breakdown``) and what each of
    the spec's attacks broke that the others left (``harness.masking``). The sweep keeps its
    adversarial images of the pictures' test images (``Context.swept``)."""
    planned = _planned(ctx.plan, s.trained, ctx.classifiers)
    args = (ctx.spec, ctx.plan, s.trained, ctx.classifiers, ctx.data, s.clean, planned)
    with recording() as log:
        rows, outcomes = _swept(*args, keep=ctx.shown)
    ctx.swept.update({(s.trained.role, o.attack): o for o in outcomes})
    declared = {p.name: p for p in ctx.plan.attacks}
    ensembles = breakdowns(s.trained.role, planned, outcomes, log)
    kept = per_image(s.trained.role, s.clean.correct(ctx.data.y_test), planned, outcomes)
    pushed = confusions(s.trained.role, ctx.data, planned, outcomes)
    return [*rows, *ensembles, *part_breaks(s.trained.role, outcomes, declared), *kept, *pushed]


def confusions(
    role: str, data: Dataset, planned: Sequence[PlannedAttack], outcomes: list[AttackOutcome]
) -> list[AttackConfusion]:
    """Per untargeted attack, the confusion matrix of the images that counted at each ε."""
    k, y = data.num_classes, data.y_test
    out = []
    for o, p in zip(outcomes, planned, strict=True):
        if p.targeted or o.pred is None:
            continue
        counts = np.zeros((len(o.eps), k, k), np.int64)
        for e in range(len(o.eps)):
            np.add.at(counts[e], (y, o.pred[e]), 1)
        out.append(AttackConfusion(role, o.attack, list(o.eps), counts.tolist()))
    return out


def per_image(
    role: str, correct: np.ndarray, planned: Sequence[PlannedAttack], outcomes: list[AttackOutcome]
) -> list[SampleFlags]:
    """Which test images the model still got right: clean, under each attack at each ε, and in
    the per-sample worst case over the untargeted attacks (kept for paired comparisons)."""
    out = [flags(role, CLEAN, (0.0,), correct)]
    out += [flags(role, o.attack, o.eps, o.robust) for o in outcomes]
    untargeted = [o for o, p in zip(outcomes, planned, strict=True) if not p.targeted]
    combined = worst_case(untargeted)
    if combined is not None:
        out.append(flags(role, combined.attack, combined.eps, combined.robust))
    return out


def certificate(ctx: Context, s: Subject) -> list[CertifiedCurve]:
    """Certified accuracy over radius, for a defence that certifies (randomized smoothing)."""
    certify, x = s.trained.certify, ctx.data.x_test
    if certify is None:
        return []
    with timed("certificate", s.trained.role, samples=len(x)):
        return [certify(x, ctx.data.y_test)]


def sanity_probe(ctx: Context, s: Subject) -> list[ModelProbe]:
    """Gradients, outputs and determinism of the model, for the sanity checks."""
    if not ctx.spec.sanity.enabled:
        return []
    t, data = s.trained, ctx.data
    x, y, n = data.x_test, data.y_test, ctx.spec.sanity.n_samples
    eps = max(ctx.spec.eps, default=None)  # the DLR gradient's random start, as AutoAttack's
    probe = probe_model(t.model, s.clf, x, y, n, ctx.spec.seed, t.randomized, eps, t.role)
    return [probe]


def summary(ctx: Context, s: Subject) -> list[ModelResult]:
    """The model's clean metrics (per class, confusion), how it was obtained, its weights."""
    t, data, labels = s.trained, ctx.data, list(range(ctx.data.num_classes))
    p, r, f, n = precision_recall_fscore_support(
        data.y_test, s.clean.pred, labels=labels, zero_division=0
    )
    per_class = [
        ClassStats(name, float(p[i]), float(r[i]), float(f[i]), int(n[i]))
        for i, name in enumerate(data.class_names)
    ]
    layer = cam_layer(t.model)
    return [
        ModelResult(
            role=t.role,
            arch=t.name,
            n_params=sum(q.numel() for q in t.model.parameters()),
            clean_accuracy=float(np.mean(s.clean.pred == data.y_test)),
            per_class=per_class,
            confusion=confusion_matrix(data.y_test, s.clean.pred, labels=labels).tolist(),
            history=t.history,
            training=t.training,
            weights=t.weights,
            gradcam_layer=layer[0] if layer else "",
            weight_analysis=_weights(t, data, ctx.spec.weights.fit)
            if ctx.spec.weights.enabled
            else None,
            defence=t.defence,
            resumed_at=t.resumed_at,
        )
    ]


def _weights(t: Trained, data: Dataset, fit: str) -> WeightAnalysis | None:
    """Weight analysis of the network the model's training produced (none for an untrained stage)."""
    if t.wraps and t.core is None:
        return None  # only the baseline's weights, analysed under its own name
    with timed("weights", t.role):
        ww = fit == "weightwatcher"
        return analyse(t.core or t.model, t.recorder, data.input_shape, weightwatcher=ww)


def example_grids(ctx: Context, s: Subject) -> list[ExampleGrid]:
    """Clean vs adversarial images of each of the spec's attacks on this model."""
    attacks = bind(ctx.plan.attacks, s.trained.role, ctx.classifiers)
    shown, role = ctx.shown, s.trained.role
    if not (shown and attacks and ctx.spec.gradcam.examples):
        return []
    with timed("examples", role, samples=len(shown)):
        return pictures.examples(ctx.spec, ctx.data, role, s.clf, attacks, shown, ctx.swept)


def evasion(ctx: Context, s: Subject) -> list[EvasionRow]:
    """The smallest eps of the evasion grid that flips each picked image."""
    data, picks = ctx.data, ctx.picks[: ctx.spec.evasion.n_images]
    grid = eps_grid(ctx.spec.evasion)
    x, y = data.x_test, data.y_test
    if not (picks and len(grid)):
        return []
    with timed("evasion", s.trained.role, samples=len(picks)):
        return smallest_flips(s.trained.role, s.clf, x, y, picks, grid, data.class_names)


def probes(ctx: Context, s: Subject) -> list[NoiseProbe | MinimalPerturbation]:
    """The spec's eps-free probes (noise overconfidence, minimal perturbations), in its order."""
    x, y, names = ctx.data.x_test, ctx.data.y_test, ctx.data.class_names
    out = []
    for p in ctx.plan.probes:
        with timed("probe", s.trained.role, samples=len(x), name=p.name):
            out.append(p.run(s.clf, x, y, s.clean.pred, names, s.trained.role))
    return out


def corruption(ctx: Context, s: Subject) -> list[CorruptionAccuracy]:
    """Accuracy under each common corruption and severity (the spec's ``corruptions:``)."""
    if ctx.spec.corruptions is None:
        return []
    with timed("corruptions", s.trained.role, samples=len(ctx.data.x_test)):
        return corruptions.records(ctx.spec, ctx.data, s.trained.role, s.clf)


ANALYSES: list[Analysis] = [
    attack_sweep,
    certificate,
    sanity_probe,
    summary,
    example_grids,
    evasion,
    probes,
    corruption,  # last: it may draw from a randomized model's generators
]

# ---------------------------------------------------------------- records -> RunResult fields

FIELDS: dict[type, str] = {  # record type -> the RunResult list it is appended to
    Measurement: "measurements",
    CertifiedCurve: "certified",
    ModelResult: "models",
    ExampleGrid: "examples",
    EvasionRow: "evasion",
    NoiseProbe: "noise",
    MinimalPerturbation: "minimal",
    CorruptionAccuracy: "corruptions",
    EnsembleBreakdown: "breakdowns",
    SampleFlags: "flags",
    AttackConfusion: "attack_confusion",
}
PER_ROLE: dict[type, str] = {ModelProbe: "sanity_probes"}  # one per model, keyed by its role


def gather(per_model: Sequence[tuple[str, list[Any]]]) -> dict[str, Any]:
    """Each model's records (model order, then analysis order) into ``RunResult`` fields."""
    fields: dict[str, Any] = {name: [] for name in FIELDS.values()}
    fields |= {name: {} for name in PER_ROLE.values()}
    for role, records in per_model:
        for r in records:
            if type(r) in PER_ROLE:
                fields[PER_ROLE[type(r)]][role] = r
            else:
                fields[FIELDS[type(r)]].append(r)
    return fields
