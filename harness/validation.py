"""The checks of a run that are not parameter resolution: one clear line each, before heavy work.

Spec-level checks (``check_dataset_fields``, ``check_sources``) run in ``harness.plan.validate``
before any data is read; data-level checks (``check_data``, ``check_networks``) run once the
dataset is loaded, before any model is trained or read from the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from harness.build import check_input, recipe
from harness.datasets import DATASETS, Dataset
from harness.datasets.base import ignored_fields
from harness.defences import DEFENCES
from harness.errors import HarnessError
from harness.results.epsilons import eps_position
from harness.spec import DefenceSpec, Spec

if TYPE_CHECKING:
    from harness.attacks.planned import PlannedAttack
    from harness.plan import Plan


def check_dataset_fields(spec: Spec) -> None:
    """The dataset is registered and reads every optional field the spec sets."""
    loader = DATASETS.get(spec.dataset.name, "dataset.name")
    ignored = ignored_fields(loader, spec.dataset)
    if ignored:
        raise HarnessError(
            f"dataset.{ignored[0]}: the {spec.dataset.name!r} loader does not use it (it would "
            "be silently ignored); leave it out"
        )


def check_headline(spec: Spec) -> None:
    """``headline:`` names the ε the verdict leads with: one the spec sweeps, above 0."""
    if spec.headline is None:
        return
    swept = [e for e in spec.eps if e > 0]
    if eps_position(swept, spec.headline) is None:
        listed = ", ".join(f"{e:g}" for e in swept) or "none above 0"
        raise HarnessError(
            f"headline: {spec.headline:g} is not an ε the spec sweeps above 0 (eps: {listed})"
        )


def check_sources(planned: Sequence[PlannedAttack], roles: Sequence[str]) -> None:
    """A transfer attack's ``source`` names one of the run's models."""
    for i, p in enumerate(planned):
        if "source" in p.params and p.params["source"] not in roles:
            raise HarnessError(
                f"attacks[{i}].source: expected one of the run's models ({', '.join(roles)}), got {p.params['source']!r}"
            )


def trains(spec: Spec, user_model: bool = False) -> bool:
    """Whether the run trains anything: the baseline (not a user's model, given weights or a
    zoo model) or a defence that fits. The one place this is decided: a run that trains
    nothing does not read the training split."""
    return needs_baseline_training(spec, user_model) or bool(training_defences(spec))


def needs_baseline_training(spec: Spec, user_model: bool = False) -> bool:
    """The baseline is built and trained here (no Python ``model=``, weights file or zoo)."""
    return not user_model and not spec.model.given


def training_defences(spec: Spec) -> list[str]:
    """The spec's defences that train (declared by a ``fit``)."""
    return [d.name for d in spec.defences if DEFENCES.get(d.name).fit is not None]


def check_data(spec: Spec, data: Dataset, user_model: bool = False) -> None:
    """What the spec asks of the loaded data, checked before any model is built or trained."""
    check_normalization(spec, data.input_shape[0])
    if len(data.x_test) == 0:
        raise HarnessError(f"dataset: {data.name} at {data.source} has no test samples")
    if trains(spec, user_model) and len(data.x_train) == 0:
        why = (
            "the baseline is trained (no model.weights or model.zoo)"
            if needs_baseline_training(spec, user_model)
            else f"defence {training_defences(spec)[0]} trains"
        )
        raise HarnessError(
            f"dataset: {data.name} at {data.source} has no training split (e.g. ROOT/train/"
            f"<class>/*), and {why}; give model.weights or a zoo model, and no defence that "
            "trains, to evaluate on its test split alone"
        )


def check_normalization(spec: Spec, channels: int) -> None:
    """model.mean / model.std: one value for every channel, or one per channel of the images."""
    for key, values in (("mean", spec.model.mean), ("std", spec.model.std)):
        if values is not None and len(values) not in (1, channels):
            expected = "1" if channels == 1 else f"1 or {channels}"
            raise HarnessError(
                f"model.{key}: {len(values)} values for {channels}-channel images; "
                f"expected {expected}"
            )


def check_networks(spec: Spec, plan: Plan, data: Dataset, user_model: bool = False) -> None:
    """One real test batch through each network the spec builds (baseline, defences' own
    architectures) before any is trained or cached: wrong input or class count is one line.
    Every model built later reseeds first, so these throwaway builds change no result."""
    batch = real_batch(data)
    if not user_model and (spec.model.arch or spec.model.builder):
        check_input(spec.model, data.input_shape)
        recipe(spec.model).check(batch, data.num_classes)
    for d, _ in plan.defences:
        if d.arch:
            check_input(spec.model, data.input_shape, d.arch)
            recipe(spec.model, d.arch, arch_field(d)).check(batch, data.num_classes)


def real_batch(data: Dataset) -> np.ndarray:
    """The batch that checks a network before any work: (2, C, H, W) float32 in [0, 1]."""
    return data.x_test[:2]


def arch_field(d: DefenceSpec) -> str:
    """The spec field naming defence ``d``'s own architecture, for error messages."""
    return "defence.arch" if d.key == "robust" else f"defences[{d.key}].arch"
