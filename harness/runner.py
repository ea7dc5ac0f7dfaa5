"""``run(spec) -> RunResult``: Build -> Break -> Improve, orchestration only.

No printing (progress bars aside) and no report files: the report writer renders the result.
Trained weights are cached under ``models/`` keyed by everything that determines them, so a
rerun with the same spec and seed reuses them instead of retraining.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from torch import nn

from harness import checkpoints, provenance
from harness.architectures import wrap
from harness.attacks import ATTACKS
from harness.build import check_input, recipe
from harness.datasets import DATASETS, Dataset, load_dataset, train_val_split
from harness.datasets.base import ignored_fields
from harness.defences import DEFENCES, HardenJob, describe
from harness.defences import validate as validate_defence
from harness.errors import HarnessError
from harness.estimator import build_classifier
from harness.evasion import eps_grid, pick_per_class, smallest_flips
from harness.explain import attention_shift, gradcam, last_conv_layer
from harness.io import pause_for_test
from harness.probes import PlannedProbe
from harness.probes import plan as plan_probes
from harness.results import (
    AttentionRow,
    CertifiedCurve,
    ClassStats,
    EpochStats,
    ExampleGrid,
    GradcamPanel,
    Measurement,
    ModelResult,
    NoiseProbe,
    RunResult,
)
from harness.sanity import checks, probe_model
from harness.spec import AttackSpec, DefenceSpec, Spec, stable_hash
from harness.sweep import AttackOutcome, CleanEval, PlannedAttack, clean_eval, sweep
from harness.training import Snapshot, TrainData, train_standard
from harness.weights import WeightRecorder, analyse

MODELS_DIR = provenance.REPO / "models"
CACHE_VERSION = 1  # bump when training code changes what a cached model would be


@dataclass
class Trained:
    """A model ready to be attacked, with how it was obtained."""

    role: str
    name: str
    model: nn.Module
    history: list[EpochStats] = field(default_factory=list)
    training: str = ""
    weights: str = ""
    defence: dict = field(default_factory=dict)
    recorder: WeightRecorder | None = None  # per-epoch weight histograms (trained or cached)
    core: nn.Module | None = None  # the trained network inside ``model``, if not ``model`` itself
    wraps: bool = False  # ``model`` puts a defence in front of the baseline: naive attacks too
    randomized: bool = False  # ``model`` is random by design (randomized smoothing)
    certify: Callable[[np.ndarray, np.ndarray], CertifiedCurve] | None = None
    sha256: str = ""  # of the weights file read or written, recorded in the run's provenance


@dataclass(frozen=True)
class Plan:
    """The spec's attacks, probes and defences, resolved and validated."""

    attacks: list[PlannedAttack]
    probes: list[PlannedProbe]
    defences: list[tuple[DefenceSpec, dict]]  # each with its resolved parameters
    naive: list[PlannedAttack]  # defence-unaware attacks on defences that wrap the baseline


NAIVE_BASES = ("fgsm", "pgd")  # white-box L-inf attacks the naive attacker runs on the baseline
NAIVE_SUFFIX = "_naive"


def naive_attacks(planned: list[PlannedAttack]) -> list[PlannedAttack]:
    """Each untargeted FGSM/PGD of the spec, crafted on the undefended baseline (a transfer)."""
    transfer = ATTACKS.get("transfer")
    out = []
    for p in planned:
        if p.definition.name in NAIVE_BASES and not p.targeted:
            params = {"source": "baseline", "attack": p.definition.name, "params": p.params}
            spec = AttackSpec("transfer", params, p.name + NAIVE_SUFFIX)
            out.append(PlannedAttack(transfer, transfer.resolve(spec), spec.key))
    return out


def validate(spec: Spec) -> Plan:
    """Check every name and parameter in the spec before any data or weights are loaded."""
    _check_dataset_fields(spec)
    if spec.model.arch or spec.model.builder:
        recipe(spec.model)  # unknown architecture / unimportable builder
    planned = []
    for i, a in enumerate(spec.attacks):
        definition = ATTACKS.get(a.name, f"attacks[{i}].name")
        planned.append(PlannedAttack(definition, definition.resolve(a, f"attacks[{i}]"), a.key))
    defences = []
    for i, d in enumerate(spec.defences):
        where = "defence" if spec.defences == (d,) and d.key == "robust" else f"defences[{i}]"
        defences.append((d, validate_defence(d, where)))
        if d.arch:
            recipe(spec.model, d.arch, f"{where}.arch")
    roles = ["baseline"] + [d.key for d in spec.defences]
    for i, p in enumerate(planned):
        if "source" in p.params and p.params["source"] not in roles:
            raise HarnessError(
                f"attacks[{i}].source: expected one of the run's models ({', '.join(roles)}), got {p.params['source']!r}"
            )
    wraps = any(DEFENCES.get(d.name).wraps_baseline for d in spec.defences)
    naive = naive_attacks(planned) if wraps else []
    return Plan(planned, plan_probes(spec.probes), defences, naive)


def _check_dataset_fields(spec: Spec) -> None:
    """The dataset is registered and reads every optional field the spec sets."""
    loader = DATASETS.get(spec.dataset.name, "dataset.name")
    ignored = ignored_fields(loader, spec.dataset)
    if ignored:
        raise HarnessError(
            f"dataset.{ignored[0]}: the {spec.dataset.name!r} loader does not use it (it would "
            "be silently ignored); leave it out"
        )


def _bind(planned: list[PlannedAttack], role: str, classifiers: dict) -> list[PlannedAttack]:
    """The attacks as run against model ``role``: transfer attacks get their surrogate's classifier
    and are skipped on the surrogate itself (that would be the white-box attack)."""
    bound = []
    for p in planned:
        source = p.params.get("source")
        if source is None:
            bound.append(p)
        elif source != role:
            bound.append(dataclasses.replace(p, surrogate=classifiers[source]))
    return bound


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # ART's trainers shuffle with numpy's global generator
    torch.manual_seed(seed)


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        pause_for_test(name)  # a no-op unless a test asks (harness.io.pause_for_test)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)


def run(spec: Spec, *, model: nn.Module | None = None, models_dir: Path | None = None) -> RunResult:
    """Run the whole benchmark described by ``spec``.

    ``model``: a user's ``nn.Module`` (logits out, taking inputs normalized with the spec's
    mean/std) to evaluate as the baseline instead of building one from the spec.
    ``models_dir``: where trained weights are cached (default ``MODELS_DIR``, read at call time).
    """
    plan = validate(spec)
    if spec.threads:
        torch.set_num_threads(spec.threads)
    seed_everything(spec.seed)
    timer, started = Timer(), time.time()
    with timer.phase("data"):
        data, split = prepare(spec, user_model=model is not None)
    trained = build_models(spec, plan, data, split, models_dir, model=model, timer=timer)
    return _evaluate(spec, data, split, trained, plan, timer, started)


def prepare(spec: Spec, user_model: bool = False) -> tuple[Dataset, TrainData]:
    """The spec's dataset, checked, and its training data split into train / validation."""
    data = load_dataset(spec.dataset, spec.seed)
    _check_data(spec, data, needs_training=not user_model and spec.model.weights is None)
    return data, _split(spec, data)


def build_models(
    spec: Spec,
    plan: Plan,
    data: Dataset,
    split: TrainData,
    models_dir: Path | None = None,
    *,
    model: nn.Module | None = None,
    timer: Timer | None = None,
) -> list[Trained]:
    """The baseline (Build) and each of the plan's defences (Improve), trained or reused from
    ``models_dir`` (default ``MODELS_DIR``, read at call time)."""
    models_dir = MODELS_DIR if models_dir is None else models_dir
    timer = timer or Timer()
    check_networks(spec, plan, data, user_model=model is not None)
    with timer.phase("build"):
        baseline = _baseline(spec, data, split, model, models_dir)
    trained = [baseline]
    with timer.phase("improve"):
        for d, params in plan.defences:
            trained.append(_harden(spec, d, params, data, split, baseline, models_dir))
    return trained


def check_networks(spec: Spec, plan: Plan, data: Dataset, user_model: bool = False) -> None:
    """One real test batch through each network the spec builds (baseline, defences' own
    architectures) before any is trained or cached: wrong input or class count is one line.
    Every model built later reseeds first, so these throwaway builds change no result."""
    batch = data.x_test[:2]  # (2, C, H, W) float32 in [0, 1]
    if not user_model and (spec.model.arch or spec.model.builder):
        check_input(spec.model, data.input_shape)
        recipe(spec.model).check(batch, data.num_classes)
    for d, _ in plan.defences:
        if d.arch:
            check_input(spec.model, data.input_shape, d.arch)
            recipe(spec.model, d.arch, _arch_field(d)).check(batch, data.num_classes)


def _evaluate(
    spec: Spec,
    data: Dataset,
    split: TrainData,
    trained: list[Trained],
    plan: Plan,
    timer: Timer,
    started: float,
) -> RunResult:
    picks = pick_per_class(data.y_test, max(spec.evasion.n_images, spec.gradcam.n_images))
    classifiers = {
        t.role: build_classifier(t.model, data.input_shape, data.num_classes) for t in trained
    }
    result = RunResult(
        name=spec.name,
        spec=spec.to_dict(),
        seed=spec.seed,
        data=_data_summary(spec, data, split),
        models=[],
        measurements=[],
        attacks=[attack_record(p, data.num_classes) for p in plan.attacks]
        + [attack_record(p, data.num_classes, naive=True) for p in plan.naive],
    )
    for t in trained:
        with timer.phase("break"):
            _break(spec, data, t, classifiers, plan, picks, result)
    result.sanity = checks(
        result.measurements, result.attacks, result.sanity_probes, data.num_classes
    )
    with timer.phase("explain"):
        result.gradcam = _gradcam_panel(
            spec, data, trained, classifiers, plan.attacks[0], picks[: spec.gradcam.n_images]
        )
        result.attention = _attention(
            spec, data, trained, classifiers, plan.attacks[0], picks[: spec.gradcam.n_images]
        )
    result.provenance = _provenance(spec, timer, started)
    result.provenance["weights_sha256"] = {t.role: t.sha256 for t in trained if t.sha256}
    return result


def _break(
    spec: Spec,
    data: Dataset,
    t: Trained,
    classifiers: dict,
    plan: Plan,
    picks: list[int],
    result: RunResult,
) -> None:
    """Everything measured on one model, appended to ``result``."""
    clf = classifiers[t.role]
    x, y = data.x_test, data.y_test
    clean, rows, _ = attack_model(spec, plan, t, classifiers, data)
    attacks = _bind(plan.attacks, t.role, classifiers)
    result.measurements += rows
    if t.certify is not None:
        result.certified.append(t.certify(x, y))
    result.sanity_probes[t.role] = probe_model(
        t.model, clf, x, y, n=256, seed=spec.seed, randomized=t.randomized
    )
    result.models.append(_model_result(t, data, clean))
    result.examples += _examples(spec, data, t.role, clf, attacks, picks[: spec.gradcam.n_images])
    grid = eps_grid(spec.evasion)
    result.evasion += smallest_flips(
        t.role, clf, x, y, picks[: spec.evasion.n_images], grid, data.class_names
    )
    for probe in plan.probes:
        out = probe.run(clf, x, y, clean.pred, data.class_names, t.role)
        (result.noise if isinstance(out, NoiseProbe) else result.minimal).append(out)


def attack_model(
    spec: Spec, plan: Plan, t: Trained, classifiers: dict, data: Dataset
) -> tuple[CleanEval, list[Measurement], list[AttackOutcome]]:
    """Model ``t``'s clean predictions, then the plan's attacks over the spec's epsilons (and
    the naive attacks, crafted on the baseline, when ``t`` puts a defence in front of it)."""
    clf = classifiers[t.role]
    x, y = data.x_test, data.y_test
    clean = clean_eval(clf, x, spec.eval_batch_size)
    attacks = _bind(plan.attacks, t.role, classifiers)
    naive = _bind(plan.naive, t.role, classifiers) if t.wraps else []
    rows, outcomes = sweep(
        t.role, clf, x, y, clean, attacks + naive, spec.eps, spec.eval_batch_size
    )
    return clean, rows, outcomes


# ---------------------------------------------------------------- data


def _check_data(spec: Spec, data: Dataset, needs_training: bool) -> None:
    """What the spec asks of the loaded data, checked before any model is built or trained."""
    _check_normalization(spec, data.input_shape[0])
    if len(data.x_test) == 0:
        raise HarnessError(f"dataset: {data.name} at {data.source} has no test samples")
    trains = any(DEFENCES.get(d.name).fit is not None for d in spec.defences)
    if (needs_training or trains) and len(data.x_train) == 0:
        raise HarnessError(
            f"dataset: {data.name} at {data.source} has no training split; give model.weights "
            "(and no defence) to evaluate a trained model on it"
        )


def _check_normalization(spec: Spec, channels: int) -> None:
    """model.mean / model.std: one value for every channel, or one per channel of the images."""
    for key, values in (("mean", spec.model.mean), ("std", spec.model.std)):
        if values is not None and len(values) not in (1, channels):
            expected = "1" if channels == 1 else f"1 or {channels}"
            raise HarnessError(
                f"model.{key}: {len(values)} values for {channels}-channel images; "
                f"expected {expected}"
            )


def _split(spec: Spec, data: Dataset) -> TrainData:
    if len(data.x_train) == 0:
        empty = data.x_train[:0]
        return TrainData(empty, data.y_train[:0], empty, data.y_train[:0])
    x_tr, y_tr, x_val, y_val = train_val_split(
        data.x_train, data.y_train, spec.dataset.val_fraction, spec.seed
    )
    return TrainData(x_tr, y_tr, x_val, y_val)


def _data_summary(spec: Spec, data: Dataset, split: TrainData) -> dict:
    return {
        "name": data.name,
        "source": data.source,
        "class_names": list(data.class_names),
        "input_shape": list(data.input_shape),
        "n_train": len(split.x_train),
        "n_val": len(split.x_val),
        "n_test": len(data.x_test),
        "test_class_counts": np.bincount(data.y_test, minlength=data.num_classes).tolist(),
    }


# ---------------------------------------------------------------- build and improve


def _baseline(
    spec: Spec, data: Dataset, split: TrainData, model: nn.Module | None, models_dir: Path
) -> Trained:
    if model is not None:  # the Python API: a user's module, evaluated as given
        mean, std = spec.model.mean or (0.0,), spec.model.std or (1.0,)
        wrapped = wrap(model, mean, std, data.input_shape[0])
        return Trained(
            "baseline", type(model).__name__, wrapped, training="given as a Python object"
        )
    if not (spec.model.arch or spec.model.builder):
        raise HarnessError(
            "model: expected 'arch' (a registered architecture) or 'builder' (file.py:function)"
        )
    rec = recipe(spec.model)
    if spec.model.weights:
        torch.manual_seed(spec.seed)
        wrapped = rec.make(data.input_shape, data.num_classes)
        path = Path(spec.model.weights)
        sha = _load_user_weights(wrapped, path)
        how = f"loaded {path}"
        return Trained("baseline", rec.name, wrapped, training=how, weights=str(path), sha256=sha)
    key = {"role": "baseline", "recipe": [rec.name, rec.mean, rec.std], "train": spec.model.train}
    make = lambda: rec.make(data.input_shape, data.num_classes)  # noqa: E731
    fit = _train_baseline(spec, split)
    return _cached(spec, split, key, models_dir, "baseline", rec.name, make, fit)


def _train_baseline(
    spec: Spec, split: TrainData
) -> Callable[[nn.Module, Snapshot], list[EpochStats]]:
    return lambda m, snap: train_standard(m, split, spec.model.train, spec.seed, snapshot=snap)


def _harden(
    spec: Spec,
    d: DefenceSpec,
    params: dict,
    data: Dataset,
    split: TrainData,
    baseline: Trained,
    models_dir: Path,
) -> Trained:
    """The model defence ``d`` produces: its network trained (or reused), then assembled."""
    definition = DEFENCES.get(d.name)
    rec = recipe(spec.model, d.arch, _arch_field(d))
    train = d.train or spec.model.train
    shape, k = data.input_shape, data.num_classes
    job = HardenJob(
        d, params, train, split, shape, k, spec.seed, lambda: rec.make(shape, k), baseline.model
    )
    record = describe(d, params, rec.name, train)
    if definition.fit is None:  # a stage in front of the baseline, nothing to train
        model = definition.assemble(job, None)
        t = Trained(d.key, f"{d.name} + {baseline.name}", model, training="not trained")
        t.history, t.weights = [], baseline.weights
    else:
        fit = definition.fit

        def harden(m: nn.Module, snap: Snapshot) -> list[EpochStats]:
            return fit(dataclasses.replace(job, snapshot=snap), m)

        key = {"defence": d.name, "params": params, "recipe": [rec.name, rec.mean, rec.std]}
        key |= {"train": train}
        make = lambda: definition.module(job)  # noqa: E731
        t = _cached(spec, split, key, models_dir, d.name, rec.name, make, harden)
        t.role, t.core = d.key, t.model
        t.model = definition.assemble(job, t.model)
        if definition.wraps_baseline:
            t.name = f"{d.name} + {baseline.name}"
        if definition.certify is not None:
            certify, core = definition.certify, t.core
            t.certify = lambda x, y: certify(job, core, x, y, d.key)
    t.wraps, t.randomized, t.defence = definition.wraps_baseline, definition.randomized, record
    return t


def _arch_field(d: DefenceSpec) -> str:
    """The spec field naming defence ``d``'s own architecture, for error messages."""
    return "defence.arch" if d.key == "robust" else f"defences[{d.key}].arch"


def _cached(
    spec: Spec,
    split: TrainData,
    key: dict,
    models_dir: Path,
    role: str,
    name: str,
    make: Callable[[], nn.Module],
    fit: Callable[[nn.Module, Snapshot], list[EpochStats]],
) -> Trained:
    """Train ``make()`` with ``fit`` unless weights for exactly this key, data and seed are cached."""
    full_key = key | {
        "data": spec.dataset,
        "seed": spec.seed,
        "n_train": len(split.x_train),
        # CPU kernels reduce in a thread-count-dependent order: 1 and 2 threads train different
        # weights (seed 000's CNN differs by up to 0.08), so weights are only shared alike.
        "threads": torch.get_num_threads(),
        "v": CACHE_VERSION,
    }
    digest = stable_hash(full_key)
    path = models_dir / spec.dataset.name / f"{role}-{digest}.pt"  # shared across specs
    torch.manual_seed(spec.seed)  # same initial weights for the same seed
    model = make()
    if (reused := _reuse(path, digest, model, role, name)) is not None:
        return reused
    seed_everything(spec.seed)
    recorder = WeightRecorder()
    recorder(0, model)  # the initial weights, then one snapshot per epoch
    history = fit(model, recorder)
    model.eval()
    meta = {
        "key": digest,
        "inputs": full_key,
        "history": [dataclasses.asdict(h) for h in history],
        "weight_epochs": recorder.epochs,
    }
    sha = checkpoints.save(model, path, meta)
    return Trained(role, name, model, history, "trained", str(path), recorder=recorder, sha256=sha)


def _reuse(path: Path, digest: str, model: nn.Module, role: str, name: str) -> Trained | None:
    """The cached weights at ``path`` loaded into ``model``, or None: none cached for this key, or
    a file that fails its SHA-256 or finiteness check (then retrained and replaced)."""
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
    how = f"reused {path}"
    return Trained(role, name, model.eval(), history, how, str(path), recorder=recorder, sha256=sha)


def _load_user_weights(wrapped: nn.Module, path: Path) -> str:
    """Load a given weights file; returns its SHA-256 (checked against its metadata, if any).
    A harness checkpoint holds the wrapped model (normalize.*, net.*); a user's, the bare network."""
    state = checkpoints.load_state(path)
    sha = checkpoints.verify(path)
    target = wrapped if any(k.startswith("net.") for k in state) else wrapped.net
    checkpoints.load_into(target, path, state=state)
    return sha


# ---------------------------------------------------------------- evaluation details


def _model_result(t: Trained, data: Dataset, clean: CleanEval) -> ModelResult:
    labels = list(range(data.num_classes))
    p, r, f, s = precision_recall_fscore_support(
        data.y_test, clean.pred, labels=labels, zero_division=0
    )
    per_class = [
        ClassStats(name, float(p[i]), float(r[i]), float(f[i]), int(s[i]))
        for i, name in enumerate(data.class_names)
    ]
    layer = _cam_layer(t.model)
    return ModelResult(
        role=t.role,
        arch=t.name,
        n_params=sum(p.numel() for p in t.model.parameters()),
        clean_accuracy=float(np.mean(clean.pred == data.y_test)),
        per_class=per_class,
        confusion=confusion_matrix(data.y_test, clean.pred, labels=labels).tolist(),
        history=t.history,
        training=t.training,
        weights=t.weights,
        gradcam_layer=layer[0] if layer else "",
        weight_analysis=_weights(t, data),
        defence=t.defence,
    )


def _weights(t: Trained, data: Dataset):
    """Weight analysis of the network the model's training produced (none for an untrained stage)."""
    if t.wraps and t.core is None:
        return None  # only the baseline's weights, analysed under its own name
    return analyse(t.core or t.model, t.recorder, data.input_shape)


def _gradcam_panel(
    spec: Spec, data: Dataset, trained, classifiers, planned: PlannedAttack, picks
) -> GradcamPanel | None:
    if not picks:
        return None
    eps = _show_eps(spec)
    x, y = data.x_test[picks], data.y_test[picks]
    names = data.class_names
    panel = GradcamPanel(
        eps, planned.name, list(picks), [names[i] for i in y], x, {}, {}, {}, {}, {}
    )
    for t in trained:
        if (found := _cam_layer(t.model)) is None:
            continue  # no conv layer (e.g. a user's MLP): nothing for Grad-CAM to look at
        layer = found[1]
        clf = classifiers[t.role]
        x_adv = planned.craft(clf, x, y, eps)
        panel.adversarial[t.role] = x_adv
        for images, cams, preds in (
            (x, panel.cams_clean, panel.preds_clean),
            (x_adv, panel.cams_adv, panel.preds_adv),
        ):
            pred = clf.predict(images).argmax(1)
            cams[t.role] = gradcam(t.model, images, layer, pred)
            preds[t.role] = [names[i] for i in pred]
    return panel if panel.adversarial else None


def attack_record(p: PlannedAttack, num_classes: int, naive: bool = False) -> dict:
    """What the report says about an attack: its name, norm, resolved parameters, how it was swept
    (``naive_of``: the attack it repeats on the undefended baseline, for defences in front of it)."""
    d = p.definition
    record = {
        "name": p.name,
        "attack": d.name,
        "norm": d.norm,
        "params": p.params,
        "sweep": d.sweep,
    }
    if naive:
        record["naive_of"] = p.name.removesuffix(NAIVE_SUFFIX)
    if d.composition is not None:
        record["composition"] = d.composition(p.params, num_classes)
    return record


def _show_eps(spec: Spec) -> float:
    """The eps of the pictures (Grad-CAM, example grids): gradcam.eps, else the middle of the sweep."""
    return spec.gradcam.eps if spec.gradcam.eps is not None else spec.eps[len(spec.eps) // 2]


def _examples(
    spec: Spec, data: Dataset, role: str, clf, attacks, picks: list[int]
) -> list[ExampleGrid]:
    """Clean vs adversarial images of each attack on model ``role``, at the pictures' eps."""
    if not picks:
        return []
    eps, names = _show_eps(spec), data.class_names
    x, y = data.x_test[picks], data.y_test[picks]
    clean_pred = clf.predict(x).argmax(1)
    grids = []
    for p in attacks:
        x_adv = p.craft(clf, x, y, eps)
        adv_pred = clf.predict(x_adv).argmax(1)
        grids.append(
            ExampleGrid(
                p.name,
                eps,
                role,
                list(picks),
                x,
                x_adv,
                [names[i] for i in y],
                [names[i] for i in clean_pred],
                [names[i] for i in adv_pred],
            )
        )
    return grids


def _cam_layer(model: nn.Module) -> tuple[str, nn.Module] | None:
    try:
        return last_conv_layer(model)
    except ValueError:
        return None


def _attention(spec, data, trained, classifiers, planned, picks) -> list[AttentionRow]:
    """Grad-CAM shift per model and eps of the sweep, on the Grad-CAM images."""
    if not picks:
        return []
    x, y = data.x_test[picks], data.y_test[picks]
    rows: list[AttentionRow] = []
    for t in trained:
        if (found := _cam_layer(t.model)) is None:
            continue  # no conv layer: nothing for Grad-CAM to look at
        clf = classifiers[t.role]
        rows += attention_shift(
            t.model, x, found[1], spec.eps,
            lambda e, clf=clf: planned.craft(clf, x, y, e),
            model_name=t.role, attack=planned.name,
        )  # fmt: skip
    return rows


def _provenance(spec: Spec, timer: Timer, started: float) -> dict:
    return {
        "spec_hash": spec.digest(),
        "spec_file": spec.source,
        "seed": spec.seed,
        "git_commit": provenance.git_commit(),
        "versions": provenance.versions(),
        "machine": provenance.machine(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "timings_seconds": dict(timer.seconds) | {"total": round(time.time() - started, 3)},
    }
