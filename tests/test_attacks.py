"""Invariants of every registered attack, and each attack against independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from art.attacks.evasion import FastGradientMethod

from harness.attacks import (
    ATTACKS,
    AttackDef,
    attack,
    attack_labels,
    generate,
    naive_bases,
    project,
    recorded,
)
from harness.attacks.select import black_box, interactive, iterative_white_box, names, one_step
from harness.errors import HarnessError
from harness.results import AttackRecord
from harness.spec import AttackSpec

# Cheap settings for the slow attacks, so the registry-wide invariants stay fast (a few
# seconds in all); the invariants hold for any setting, the defaults are exercised elsewhere.
FAST = {
    "cw_l2": {"binary_search_steps": 2, "max_iter": 10},
    "cw_linf": {"max_iter": 3, "initial_const": 0.1, "largest_const": 0.5, "decrease_factor": 0.5},
    "square": {"max_queries": 50},
    "autoattack": {"apgd_iter": 5, "fab_iter": 5, "square_queries": 50},
    "autoattack_l2": {"apgd_iter": 5, "fab_iter": 5, "square_queries": 50},
}


pytestmark = pytest.mark.usefixtures("one_thread")


def run(clf, name: str, x, y, eps: float, **params) -> np.ndarray:
    definition = ATTACKS.get(name)
    return generate(clf, definition, definition.resolve(AttackSpec(name, params)), x, y, eps)


def accuracy(clf, x, y) -> float:
    return float(np.mean(clf.predict(x).argmax(1) == y))


# ---------------------------------------------------------------- every attack


@pytest.mark.parametrize("name", ATTACKS.names())
@pytest.mark.parametrize("eps", [0.0, 0.05, 0.2])
def test_attack_invariants(setup, name: str, eps: float) -> None:
    model, clf, x, y = setup
    x = x.copy()
    x.setflags(write=False)  # the attack must not modify its input
    definition = ATTACKS.get(name)
    params = definition.resolve(AttackSpec(name, FAST.get(name, {})))
    x_adv = generate(clf, definition, params, x, y, eps)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    delta = (x_adv - x).reshape(len(x), -1)
    bound = (
        np.abs(delta).max() if definition.norm == "linf" else np.linalg.norm(delta, axis=1).max()
    )
    assert bound <= eps + 1e-6
    if eps == 0:
        assert np.array_equal(x_adv, x)
    assert not model.training  # evaluation never switches the model to train mode


@pytest.mark.parametrize("name", ATTACKS.names())
def test_unknown_parameter_is_refused_in_one_line(name: str) -> None:
    with pytest.raises(HarnessError) as err:
        ATTACKS.get(name).resolve(AttackSpec(name, {"batch_sise": 8}), "attacks[0]")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("attacks[0].batch_sise: unknown parameter")
    if "batch_size" in ATTACKS.get(name).defaults:
        assert "did you mean 'batch_size'?" in message


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("pgd", {"steps": 0}, "steps"),
        ("pgd", {"steps": 2.5}, "steps"),
        ("pgd", {"step_size": -0.1}, "step_size"),
        ("pgd", {"random_start": "yes"}, "random_start"),
        ("pgd_l2", {"targeted": True}, "target"),  # targeted needs a target
        ("fgsm", {"target": 1}, "target"),  # a target needs targeted: true
        ("fgsm", {"targeted": True, "target": "any"}, "target"),
        ("cw_linf", {"decrease_factor": 1.5}, "decrease_factor"),
        ("square", {"max_queries": 1}, "max_queries"),
        ("deepfool", {"overshoot": "0.02"}, "overshoot"),
    ],
)
def test_bad_parameter_values_are_refused(name: str, params: dict, field: str) -> None:
    with pytest.raises(HarnessError, match=rf"^attacks\[0\]\.{field}: expected "):
        ATTACKS.get(name).resolve(AttackSpec(name, params), "attacks[0]")


# ---------------------------------------------------------------- FGSM


def test_fgsm_matches_art_direct_and_moves_every_pixel(setup) -> None:
    _, clf, x, y = setup
    ours = run(clf, "fgsm", x, y, 0.1)
    direct = FastGradientMethod(clf, eps=0.1, eps_step=0.1, batch_size=64).generate(x, y=y)
    np.testing.assert_array_equal(ours, direct.astype(np.float32))
    # FGSM moves every pixel by exactly eps unless clipped at 0 or 1 (or a zero gradient)
    moved = np.abs(ours - x)
    interior = (x > 0.1) & (x < 0.9)
    assert np.mean(np.isclose(moved[interior], 0.1, atol=1e-6)) > 0.95


def test_fgsm_agrees_with_torchattacks(setup) -> None:
    torchattacks = pytest.importorskip("torchattacks")
    model, clf, x, y = setup
    ours = run(clf, "fgsm", x, y, 0.1)
    theirs = torchattacks.FGSM(model, eps=0.1)(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    assert np.mean(np.abs(ours - theirs) < 1e-5) > 0.999
    acc_ours, acc_theirs = accuracy(clf, ours, y), accuracy(clf, theirs, y)
    assert abs(acc_ours - acc_theirs) <= 0.001
    assert acc_ours < accuracy(clf, x, y)  # the attack hurts


# ---------------------------------------------------------------- PGD


def test_pgd_agrees_with_torchattacks(held_out) -> None:
    torchattacks = pytest.importorskip("torchattacks")
    model, clf, x, y = held_out
    eps, steps = 0.03, 10
    ours = run(clf, "pgd", x, y, eps, steps=steps, random_start=False)
    theirs = torchattacks.PGD(model, eps=eps, alpha=eps / 4, steps=steps, random_start=False)(
        torch.from_numpy(x), torch.from_numpy(y)
    ).numpy()
    acc_ours, acc_theirs = accuracy(clf, ours, y), accuracy(clf, theirs, y)
    assert abs(acc_ours - acc_theirs) <= 0.01
    assert np.mean(np.abs(ours - theirs) < 1e-5) > 0.99
    assert acc_ours < accuracy(clf, x, y) - 0.3  # far from a no-op at this eps


@pytest.mark.parametrize("eps", [0.02, 0.05, 0.1])
def test_pgd_is_at_least_as_strong_as_fgsm(held_out, eps: float) -> None:
    _, clf, x, y = held_out
    assert accuracy(clf, run(clf, "pgd", x, y, eps), y) <= accuracy(
        clf, run(clf, "fgsm", x, y, eps), y
    )


def test_pgd_l2_is_bounded_in_l2_not_linf(setup) -> None:
    _, clf, x, y = setup
    x_adv = run(clf, "pgd_l2", x, y, 0.5)
    delta = (x_adv - x).reshape(len(x), -1)
    assert np.linalg.norm(delta, axis=1).max() <= 0.5 + 1e-6
    assert np.abs(delta).max() > 0.5 / np.sqrt(delta.shape[1])  # not spread evenly like L-inf
    assert accuracy(clf, x_adv, y) < accuracy(clf, x, y)


def test_pgd_is_reproducible_for_a_seed_and_leaves_numpy_alone(setup) -> None:
    _, clf, x, y = setup
    before = np.random.get_state()[1].copy()
    a, b = run(clf, "pgd", x, y, 0.1, steps=3), run(clf, "pgd", x, y, 0.1, steps=3)
    c = run(clf, "pgd", x, y, 0.1, steps=3, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)  # the random start depends on the seed
    np.testing.assert_array_equal(np.random.get_state()[1], before)


# ---------------------------------------------------------------- targeted attacks


def test_generate_passes_the_targets_to_art(setup) -> None:
    _, clf, x, y = setup
    seen = {}

    class Spy:
        def generate(self, x, y):
            seen["y"] = y
            return x

    spy = AttackDef("spy", "linf", lambda *_: Spy(), {"targeted": False, "target": None})
    generate(clf, spy, {"targeted": False, "target": None}, x, y, 0.1)
    np.testing.assert_array_equal(seen["y"], y)
    generate(clf, spy, {"targeted": True, "target": 2}, x, y, 0.1)
    np.testing.assert_array_equal(seen["y"], np.full(len(y), 2))


@pytest.mark.parametrize("name", ["fgsm", "pgd", "pgd_l2"])
def test_targeted_attack_reaches_the_target(held_out, name: str) -> None:
    _, clf, x, y = held_out
    eps = 1.5 if name == "pgd_l2" else 0.3
    target = 2  # the brightest class; samples already in it count as reached
    hit = np.mean(
        clf.predict(run(clf, name, x, y, eps, targeted=True, target=target)).argmax(1) == target
    )
    untargeted = np.mean(clf.predict(run(clf, name, x, y, eps)).argmax(1) == target)
    assert hit > 0.9 and hit > untargeted + 0.2


def test_random_targets_avoid_the_true_label_and_follow_the_seed() -> None:
    y = np.random.default_rng(0).integers(0, 10, size=2000)
    params = {"targeted": True, "target": "random", "seed": 3}
    t = attack_labels(params, y, 10)
    assert t.shape == y.shape and t.dtype == np.int64
    assert not np.any(t == y)
    assert set(np.unique(t)) == set(range(10))
    np.testing.assert_array_equal(t, attack_labels(params, y, 10))
    assert not np.array_equal(t, attack_labels({**params, "seed": 4}, y, 10))
    np.testing.assert_array_equal(attack_labels({"targeted": False}, y, 10), y)
    with pytest.raises(HarnessError, match="target: expected a class index in \\[0, 9\\]"):
        attack_labels({"targeted": True, "target": 10, "seed": 0}, y, 10)


# ---------------------------------------------------------------- minimal-perturbation attacks


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_project_keeps_short_perturbations_and_shortens_long_ones(norm: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((50, 3, 4, 4), dtype=np.float32)
    x_adv = np.clip(x + rng.normal(0, 0.3, x.shape), -1, 2).astype(np.float32)
    out = project(x, x_adv, 0.2, norm)
    delta = (out - x).reshape(len(x), -1)
    size = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    assert size.max() <= 0.2 + 1e-6
    inside = np.clip(x + 0.01 * np.sign(x_adv - x), 0, 1)  # well within the ball
    np.testing.assert_allclose(project(x, inside, 0.2, norm), inside, atol=1e-7)


@pytest.mark.parametrize("name", ["cw_l2", "deepfool"])
def test_minimal_l2_attacks_are_projected_but_succeed_with_room(setup, name: str) -> None:
    _, clf, x, y = setup
    params = ATTACKS.get(name).resolve(AttackSpec(name, FAST.get(name, {})))
    art_attack = ATTACKS.get(name).make(clf, 0.1, params)  # as ART's AdversarialTrainer uses it
    delta = (art_attack.generate(x, y=y) - x).reshape(len(x), -1)
    assert np.linalg.norm(delta, axis=1).max() <= 0.1 + 1e-6
    assert accuracy(clf, run(clf, name, x, y, 1.0, **FAST.get(name, {})), y) <= 0.1


def test_square_is_stronger_with_more_queries(held_out) -> None:
    _, clf, x, y = held_out
    few = accuracy(clf, run(clf, "square", x, y, 0.05, max_queries=5), y)
    many = accuracy(clf, run(clf, "square", x, y, 0.05, max_queries=300), y)
    assert many < few < accuracy(clf, x, y)


def test_square_refuses_a_first_square_as_large_as_the_image(setup) -> None:
    _, clf, x, y = setup
    with pytest.raises(HarnessError, match=r"^square\.p_init: 0\.95 makes the first square"):
        run(clf, "square", x, y, 0.05, p_init=0.95)  # ART itself fails in np.random.randint


# ---------------------------------------------------------------- declarations


@pytest.mark.parametrize("name", ATTACKS.names())
def test_every_attack_docstring_follows_the_template(name: str) -> None:
    """STYLE.md habit 10: paper, norm, arguments with defaults and units, input range."""
    doc = ATTACKS.get(name).make.__doc__ or ""
    for section in ("Paper:", "Norm:", "Arguments:", "Input: pixels in [0, 1]"):
        assert f"\n    {section}" in doc, f"{name}: no {section!r} line"
    for key in ATTACKS.get(name).defaults:
        assert key in doc, f"{name}: argument {key!r} undocumented"


def test_capabilities_select_what_the_name_sets_used_to() -> None:
    """The selections that replaced hard-coded names pick the same registered attacks."""
    assert names(one_step) == ("fgsm",)
    assert names(iterative_white_box) == ("autoattack", "autoattack_l2", "pgd", "pgd_l2")
    assert names(black_box) == ("square", "transfer")
    assert naive_bases() == ("fgsm", "pgd")
    assert names(interactive) == ("fgsm", "pgd")
    assert names(lambda d: d.minimal) == ("cw_l2", "cw_linf", "deepfool")
    assert ATTACKS.get("autoattack").effort == ("apgd_iter", "fab_iter", "square_queries")


def test_a_record_finds_its_declaration_unless_the_attack_is_gone() -> None:
    assert recorded(AttackRecord("pgd_50", "pgd")) is ATTACKS.get("pgd")
    assert recorded(AttackRecord("old", "removed_since")) is None
    # an early run's record had no "attack": its name was the registered attack's
    assert recorded(AttackRecord.from_dict({"name": "fgsm"})) is ATTACKS.get("fgsm")
    assert recorded(AttackRecord.from_dict({"name": "fgsm_strong"})) is None


@pytest.mark.parametrize(
    "declared",
    [
        {"sweep": "one_step"},  # one_step needs a direction
        {"sweep": "nested", "iterative": True, "minimal": True},  # minimal means project_once
        {"sweep": "nested", "effort": ("steps",)},  # an effort parameter it does not have
        {"sweep": "nested", "box": "grey"},
        {"sweep": "nested", "ensemble": True},  # an ensemble says what it runs (composition)
    ],
)
def test_a_contradictory_declaration_is_refused_at_import(declared: dict) -> None:
    with pytest.raises(ValueError, match="'odd': contradictory declaration"):
        attack("odd", norm="linf", defaults={"batch_size": 1}, **declared)(lambda *_: None)
    assert "odd" not in ATTACKS
