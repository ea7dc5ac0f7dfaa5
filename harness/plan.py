"""A spec turned into a ``Plan``: every name and parameter resolved and checked, nothing loaded.

``validate(spec) -> Plan`` is the one spec-level validation of a run: it reads no data and
builds no model, so a typo in a spec is a one-line error before any heavy work. The CLI calls it
once and hands the plan to ``harness.runner.run``; ``run(spec)`` without a plan calls it itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from harness import reproducibility, validation, zoo
from harness.attacks import ATTACKS
from harness.attacks.base import in_norm
from harness.attacks.planned import PlannedAttack
from harness.build import recipe
from harness.corruptions.evaluate import check as check_corruptions
from harness.defences import DEFENCES
from harness.defences import validate as validate_defence
from harness.probes import PlannedProbe
from harness.probes import plan as plan_probes
from harness.results import AttackRecord
from harness.results.corruption import CorruptionReference
from harness.spec import AttackSpec, DefenceSpec, Spec
from harness.spec.checks import needs_hardware

NAIVE_SUFFIX = "_naive"


@dataclass(frozen=True)
class Plan:
    """The spec's attacks, probes and defences, resolved and validated."""

    attacks: list[PlannedAttack]
    probes: list[PlannedProbe]
    defences: list[tuple[DefenceSpec, dict]]  # each with its resolved parameters
    naive: list[PlannedAttack]  # defence-unaware attacks on defences that wrap the baseline
    # the spec's named corruption reference, read once here (None: it names none)
    corruption_reference: CorruptionReference | None = None

    def randomness(self) -> dict[str, Any]:
        """run.json's record of whether the run's attack numbers are independent of how the
        test set was cut (batch size, chunks, out-of-memory halving, shards): every attack
        draws nothing or draws per sample (``AttackDef.draws``); else the ones that draw per call."""
        per_call = [p.name for p in self.attacks + self.naive if not p.per_sample]
        return {"batching_independent": not per_call, "drawn_per_call": per_call}


def validate(spec: Spec) -> Plan:
    """Check every name and parameter in the spec before any data or weights are loaded."""
    validation.check_dataset_fields(spec)
    validation.check_headline(spec)
    check_device(spec)
    if spec.model.arch or spec.model.builder:
        recipe(spec.model)  # unknown architecture / unimportable builder
    if spec.model.zoo:
        zoo.validate(spec.model)  # the zoo, its package, the model's name and checkpoint file
    planned = [_plan_attack(a, f"attacks[{i}]", spec.seed) for i, a in enumerate(spec.attacks)]
    defences = [_plan_defence(spec, i, d) for i, d in enumerate(spec.defences)]
    validation.check_sources(planned, ["baseline"] + [d.key for d in spec.defences])
    named = check_corruptions(spec)  # the optional extra, or the CIFAR-C folder's files
    wraps = any(DEFENCES.get(d.name).wraps_baseline for d in spec.defences)
    naive = naive_attacks(planned) if wraps else []
    return Plan(planned, plan_probes(spec.probes), defences, naive, named)


def check_device(spec: Spec) -> None:
    """An unavailable device, ``amp`` off CUDA, strict mode on an accelerator: one line each.

    torch is imported only when the answer depends on this machine: ``cpu`` and ``auto`` are
    always available, and only ``amp`` and strict mode care which device ``auto`` picks."""
    if not needs_hardware(spec.device) and not spec.amp and spec.reproducible != "strict":
        return
    from harness import device

    dev = device.resolve(spec.device)
    device.check_amp(spec.amp, dev)
    reproducibility.check(spec.reproducible, dev, spec.grid is not None)


def _plan_attack(a: AttackSpec, where: str, seed: int) -> PlannedAttack:
    definition = ATTACKS.get(a.name, f"{where}.name")
    if "norm" in a.params:  # one method in another norm: its family's member for that norm
        definition = in_norm(definition, a.params["norm"])
    return PlannedAttack(definition, definition.resolve(a, where), a.key, seed=seed)


def _plan_defence(spec: Spec, i: int, d: DefenceSpec) -> tuple[DefenceSpec, dict]:
    """Defence ``d``'s resolved parameters; its own architecture, if any, must be registered."""
    where = "defence" if spec.defences == (d,) and d.key == "robust" else f"defences[{i}]"
    params = validate_defence(d, where)
    zoo.refuse_training(spec, DEFENCES.get(d.name), d, where)
    if d.arch:
        recipe(spec.model, d.arch, f"{where}.arch")
    return d, params


def naive_attacks(planned: list[PlannedAttack]) -> list[PlannedAttack]:
    """Each untargeted attack of the spec declared ``naive`` (FGSM, PGD), crafted on the
    undefended baseline and carried over to the defended model (a transfer)."""
    transfer = ATTACKS.get("transfer")
    out = []
    for p in planned:
        if p.definition.naive and not p.targeted:  # declared by the attack (attacks.select)
            params = {"source": "baseline", "attack": p.definition.name, "params": p.params}
            spec = AttackSpec("transfer", params, p.name + NAIVE_SUFFIX)
            out.append(PlannedAttack(transfer, transfer.resolve(spec), spec.key, seed=p.seed))
    return out


def bind(planned: list[PlannedAttack], role: str, classifiers: dict) -> list[PlannedAttack]:
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


def attack_record(p: PlannedAttack, num_classes: int, naive: bool = False) -> AttackRecord:
    """What the report says about an attack: its name, norm, resolved parameters, how it was swept
    (``naive_of``: the attack it repeats on the undefended baseline, for defences in front of it)."""
    d = p.definition
    return AttackRecord(
        name=p.name,
        attack=d.name,
        norm=d.norm,
        params=p.params,
        sweep=d.sweep,
        naive_of=p.name.removesuffix(NAIVE_SUFFIX) if naive else None,
        composition=d.composition(p.params, num_classes) if d.composition else None,
    )


def attack_records(plan: Plan, num_classes: int) -> list[AttackRecord]:
    """The records of every attack a run with ``plan`` sweeps: the spec's, then the naive ones."""
    return [attack_record(p, num_classes) for p in plan.attacks] + [
        attack_record(p, num_classes, naive=True) for p in plan.naive
    ]
