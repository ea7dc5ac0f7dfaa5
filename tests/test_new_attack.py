"""Adding an attack is one new file: ``tests/momentum_attack.py`` registers ``momentum_pgd`` with
the decorator alone, and every selection by capability picks it up without editing a list."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import pytest

from harness.app.inference import attack_choices
from harness.attacks import ATTACKS, AttackDef, naive_bases
from harness.attacks.planned import PlannedAttack
from harness.attacks.select import black_box, iterative_white_box, names, one_step
from harness.results import AttackRecord, Measurement
from harness.sanity import BLACK_BOX, EFFORT, FAIL, ITERATIVE, PASS, checks
from harness.spec import AttackSpec
from harness.sweep import clean_eval, sweep

MODULE = "momentum_attack"
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def momentum(monkeypatch: pytest.MonkeyPatch) -> Iterator[AttackDef]:
    """The new attack, registered by importing its file into a copy of the registry (undone
    afterwards, so the registry-wide tests elsewhere never see it)."""
    monkeypatch.setattr(ATTACKS, "_items", dict(ATTACKS._items))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    importlib.import_module(MODULE)
    yield ATTACKS.get("momentum_pgd")
    sys.modules.pop(MODULE, None)


def record(d: AttackDef, label: str = "", **params) -> AttackRecord:
    """An attack record as a run writes it (``harness.plan.attack_record``)."""
    resolved = d.resolve(AttackSpec(d.name, params))
    return AttackRecord(name=label or d.name, attack=d.name, norm=d.norm, params=resolved)


def rows(name: str, values: dict[float, float]) -> list[Measurement]:
    return [Measurement("m", name, e, "robust_accuracy", v) for e, v in values.items()]


def test_the_declaration_alone_places_it_in_every_selection(momentum) -> None:
    assert momentum.name in names(iterative_white_box)
    assert momentum.name not in names(one_step) + names(black_box)
    assert momentum.name in attack_choices()  # white-box L-inf within eps: the app offers it
    assert momentum.name not in naive_bases()  # not declared naive: the naive attacker skips it


def test_sanity_compares_it_with_fgsm_and_square_with_it(momentum) -> None:
    fgsm, square = ATTACKS.get("fgsm"), ATTACKS.get("square")
    attacks = [record(fgsm), record(momentum), record(square)]
    ms = rows("fgsm", {0.1: 0.40}) + rows("momentum_pgd", {0.1: 0.50}) + rows("square", {0.1: 0.2})
    found = checks(ms, attacks, {}, 3)
    (iterative,) = [c for c in found if c.name == ITERATIVE]
    assert iterative.status == FAIL and iterative.why.startswith("momentum_pgd 50.0% vs fgsm")
    (bb,) = [c for c in found if c.name == BLACK_BOX]
    assert "best white-box (fgsm/momentum_pgd)" in bb.why


def test_its_declared_effort_is_compared(momentum) -> None:
    attacks = [record(momentum, "mi_5", steps=5), record(momentum, "mi_50", steps=50)]
    found = checks(rows("mi_5", {0.1: 0.3}) + rows("mi_50", {0.1: 0.4}), attacks, {}, 3)
    (effort,) = [c for c in found if c.name == EFFORT]
    assert effort.status == FAIL and "steps 5 -> 50" in effort.why


def test_it_runs_end_to_end_and_passes_the_iterative_check(momentum, held_out) -> None:
    _, clf, x, y = held_out
    planned = [
        PlannedAttack(d, d.resolve(AttackSpec(d.name))) for d in (ATTACKS.get("fgsm"), momentum)
    ]
    eps = (0.0, 0.1, 0.2)
    ms, _ = sweep("m", clf, x, y, clean_eval(clf, x, 256), planned, eps, 256)
    found = checks(ms, [record(p.definition) for p in planned], {}, 3)
    assert [c.status for c in found if c.name == ITERATIVE] == [PASS]
