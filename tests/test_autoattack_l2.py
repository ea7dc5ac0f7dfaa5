"""L2 AutoAttack (``autoattack_l2``) on the tiny digits model: the L2 ball and [0, 1] for every
part and version, the parts against fra31's own code (APGD's iterates and FAB's examples to
float precision, the boundary projection exactly, Square never weaker), the versions' parts as
the reference defines them, and the per-part breakdown and masking check in L2."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_autoattack_reference import (  # the tiny digits model (fixture)
    digits,  # noqa: F401
    held_out_correct,
)

from harness.attacks import ATTACKS, generate, numpy_seed
from harness.attacks import autoattack_reference as reference
from harness.attacks.apgd_loop import APGDLoop
from harness.attacks.autoattack_fra31 import _load
from harness.attacks.autoattack_parts import (
    EOT_ITER,
    PLUS_RESTARTS,
    VERSION_PARTS,
    part_names,
    recording,
)
from harness.attacks.autoattack_standard import ranked_others
from harness.attacks.fab import fab_targeted, fab_untargeted, project_box
from harness.attacks.planned import PlannedAttack
from harness.attacks.square_l2 import eta, rings, side
from harness.attacks.square_loop import SquareLoop
from harness.breakdown import autoattack_breakdown
from harness.masking import grade
from harness.spec import AttackSpec
from harness.sweep import attack_sweep, clean_eval

EPS = 0.6  # L2 over the 8 x 8 digits in [0, 1] (an L-inf 0.075 spread over all 64 pixels)
CHEAP = {"apgd_iter": 10, "fab_iter": 10, "square_queries": 100}
TOLERANCE = 0.03  # Square vs the reference on ~100 images: never weaker by more than this

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def correct(digits):  # noqa: F811
    """The model, its classifier and 100 held-out digits it classifies correctly."""
    model, clf, _, _ = digits
    return model, clf, *held_out_correct(clf)


def l2(x_adv: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(n,) the L2 length of each perturbation over C * H * W."""
    return np.linalg.norm((x_adv.astype(np.float64) - x).reshape(len(x), -1), axis=1)


def in_ball(x_adv: np.ndarray, x: np.ndarray, eps: float = EPS) -> bool:
    return bool(x_adv.min() >= 0 and x_adv.max() <= 1 and l2(x_adv, x).max() <= eps + 1e-5)


def fooled(clf, x_adv: np.ndarray, y: np.ndarray) -> np.ndarray:
    return clf.predict(x_adv).argmax(1) != y


def params(**overrides) -> dict:
    d = ATTACKS.get("autoattack_l2")
    return d.resolve(AttackSpec("autoattack_l2", {**CHEAP, **overrides}))


# ---------------------------------------------------------------- the L2 ball, every part


@pytest.mark.parametrize("part", ["apgd_ce", "apgd_t", "square", "fab_t", "fab"])
def test_every_part_stays_in_the_l2_ball_and_leaves_the_input_alone(correct, part: str) -> None:
    model, clf, x, y = correct
    x = x.copy()
    x.setflags(write=False)
    targets = ranked_others(clf.predict(x), y)[:, 0]
    with numpy_seed(0):
        if part == "square":
            out = SquareLoop(clf, eps=EPS, max_queries=60, norm="l2").generate(x, y)
        elif part == "fab_t":
            out = fab_targeted(model, x, y, targets, EPS, 10, "l2")
        elif part == "fab":
            out = fab_untargeted(model, x, y, EPS, 10, "l2", random_start=True)
        else:
            loss = "ce" if part == "apgd_ce" else "dlr_targeted"
            out = APGDLoop(clf, eps=EPS, max_iter=5, loss=loss, norm="l2").generate(
                x, y, target=targets
            )
    assert out.dtype == np.float32 and in_ball(out, x)
    assert fooled(clf, out, y).any()
    # the L2 ball lets single pixels move far beyond EPS / 8, which an L-inf attack never would
    assert np.abs(out - x).max() > EPS / 8


@pytest.mark.parametrize("implementation", ["art", "reference"])
@pytest.mark.parametrize("version", ["standard", "plus", "rand"])
def test_each_version_stays_in_the_ball_and_counts_what_each_part_broke(
    correct, implementation: str, version: str
) -> None:
    if implementation == "reference":
        pytest.importorskip("autoattack")
    _, clf, x, y = correct
    x, y = x[:24], y[:24]
    p = params(implementation=implementation, version=version, apgd_iter=5, fab_iter=5)
    with recording() as log:
        x_adv = generate(clf, ATTACKS.get("autoattack_l2"), p, x, y, EPS)
    (noted,) = log
    assert in_ball(x_adv, x)
    assert [part.name for part in noted.parts] == list(part_names(version))
    assert [part.black_box for part in noted.parts] == [n == "Square" for n in part_names(version)]
    assert sum(noted.broke) == noted.attacked - int(np.sum(~fooled(clf, x_adv, y))) > 0


# ---------------------------------------------------------------- against the reference


def test_apgd_l2_takes_the_references_iterates(correct) -> None:
    """From the same random start (the reference's seed given to the harness's generator), the
    harness's APGD-CE in L2 reaches the reference's best iterate on every sample it did not
    break, to float precision: the step (the L2-normalised gradient, 2 eps at first), the
    momentum, the L2 projection and the checkpoints agree. Halving the step matches on only
    about one sample in ten (checked when this test was written)."""
    pytest.importorskip("autoattack")
    _load()
    from autoattack.autopgd_pt import APGDAttack

    model, clf, x, y = correct
    for eps, iters in ((0.3, 10), (EPS, 30)):
        with numpy_seed(0):
            seed = int(np.random.randint(2**31))  # what APGDLoop seeds its generator with
        with numpy_seed(0):
            ours = APGDLoop(clf, eps=eps, max_iter=iters, norm="l2").generate(x, y)
        torch.random.manual_seed(seed)
        ref = APGDAttack(model, n_iter=iters, eps=eps, norm="L2", device=torch.device("cpu"))
        best, still, _, _ = ref.attack_single_run(torch.from_numpy(x), torch.from_numpy(y))
        still = still.numpy().astype(bool)
        assert 0 < still.sum() < len(y)
        assert np.array_equal(~fooled(clf, ours, y), still)  # the same samples broken
        gap = np.abs(ours[still] - best.detach().numpy()[still]).max()
        assert gap < 1e-4


@pytest.mark.parametrize("targeted", [True, False])
def test_fab_l2_finds_the_references_examples(correct, targeted: bool) -> None:
    """FAB has no randomness without restarts: the harness's L2 FAB-T (towards the runner-up)
    and untargeted FAB break the reference's samples with its adversarial examples."""
    pytest.importorskip("autoattack")
    _load()
    from autoattack.fab_pt import FABAttack

    model, clf, x, y = correct
    cpu = torch.device("cpu")
    fab = FABAttack(model, n_restarts=1, n_iter=20, eps=EPS, seed=0, norm="L2", device=cpu)
    fab.targeted, fab.n_target_classes = targeted, 1
    ref = fab.perturb(torch.from_numpy(x), torch.from_numpy(y)).detach().numpy()
    if targeted:
        ours = fab_targeted(model, x, y, ranked_others(clf.predict(x), y)[:, 0], EPS, 20, "l2")
    else:
        ours = fab_untargeted(model, x, y, EPS, 20, "l2")
    assert 0 < fooled(clf, ref, y).sum() < len(y)
    assert np.array_equal(fooled(clf, ours, y), fooled(clf, ref, y))
    same = np.abs(ours - ref).reshape(len(y), -1).max(1) < 1e-4
    assert same.mean() >= 0.95  # float rounding can tip a near-tie of the kept perturbation


def test_the_l2_boundary_projection_is_the_references() -> None:
    pytest.importorskip("autoattack")
    _load()
    from autoattack.fab_projections import projection_l2

    gen = torch.Generator().manual_seed(0)
    for spread in (0.5, 3.0, 30.0):  # the last: mostly out of the box's reach
        p, w = torch.rand(20, 64, generator=gen), torch.randn(20, 64, generator=gen)
        w[:, :5] = 0  # coordinates the hyperplane ignores stay put
        b = (w * p).sum(1) + spread * torch.randn(20, generator=gen)
        d = project_box(p, w, b, "l2")
        assert torch.allclose(d, projection_l2(p, w, b), atol=1e-5)
        assert (p + d).min() >= 0 and (p + d).max() <= 1 and (d[:, :5] == 0).all()
    reached = project_box(p[:1], w[:1], (w[:1] * p[:1]).sum(1) + 0.1, "l2")
    assert torch.allclose((w[:1] * (p[:1] + reached)).sum(1), (w[:1] * p[:1]).sum(1) + 0.1)


def test_square_l2_is_never_weaker_than_the_references(correct) -> None:
    """The reference draws one square position per batch (on 8 x 8 images its first squares
    can sit only at the corner), the harness one per sample: never weaker."""
    pytest.importorskip("autoattack")
    _load()
    from autoattack.square import SquareAttack

    model, clf, x, y = correct
    for seed in (0, 1):
        ref = SquareAttack(
            model, p_init=0.8, n_queries=150, eps=EPS, norm="L2", n_restarts=1, seed=seed,
            resc_schedule=False, device=torch.device("cpu"),
        ).perturb(torch.from_numpy(x), torch.from_numpy(y))  # fmt: skip
        with numpy_seed(seed):
            ours = SquareLoop(clf, eps=EPS, max_queries=150, norm="l2").generate(x, y)
        assert in_ball(ours, x)
        assert np.mean(~fooled(clf, ours, y)) <= np.mean(~fooled(clf, ref.numpy(), y)) + TOLERANCE


def test_the_square_pattern_has_unit_length_and_opposite_halves() -> None:
    for s in (1, 3, 7, 25):
        e = eta(s)
        assert e.shape == (s, s) and torch.isclose(e.norm(), torch.tensor(1.0))
        assert (e[s // 2 :] <= 0).all() and (e[: s // 2] >= 0).all()
    r = rings(5, 5)
    assert r[2, 2] == r.max() and r[0, 0] == r.min()  # heaviest at the centre
    assert [side(p, 32, 32) for p in (0.8, 0.1, 0.0001)] == [29, 11, 3]  # odd, at least 3


def test_versions_run_the_references_parts_with_its_restarts_and_eot() -> None:
    """Each version's parts, in order, are those the reference's set_version runs, for L2 as
    for L-inf, with its restarts (plus) and its EoT samples (rand)."""
    pytest.importorskip("autoattack")
    cls = _load()
    names = {"apgd-ce": "APGD-CE", "apgd-t": "APGD-T", "fab-t": "FAB-T", "square": "Square"}
    names |= {"apgd-dlr": "APGD-DLR", "fab": "FAB"}
    for norm in ("Linf", "L2"):
        for version in VERSION_PARTS:
            aa = cls(torch.nn.Linear(1, 1), norm=norm, eps=0.5, version=version, device="cpu")
            assert tuple(names[a] for a in aa.attacks_to_run) == part_names(version)
            assert reference.RUNS[version] == tuple(aa.attacks_to_run)
            if version == "plus":
                assert aa.apgd.n_restarts == aa.fab.n_restarts == PLUS_RESTARTS
            if version == "rand":
                assert aa.apgd.eot_iter == EOT_ITER


# ---------------------------------------------------------------- breakdown and masking


def test_the_l2_sweep_breakdown_and_masking_check(correct) -> None:
    _, clf, x, y = correct
    x, y = x[:40], y[:40]
    planned = PlannedAttack(ATTACKS.get("autoattack_l2"), params())
    with recording() as log:
        outcome = attack_sweep(clf, planned, x, y, clean_eval(clf, x, 256), [0, 0.3, EPS], 256)
    records = autoattack_breakdown("baseline", "autoattack_l2", outcome, log)
    assert [r.eps for r in records] == [0, 0.3, EPS]
    for e, r in enumerate(records):
        assert r.robust_accuracy == pytest.approx(outcome.robust[e].mean())
        assert [p.name for p in r.parts] == ["APGD-CE", "APGD-T", "FAB-T", "Square"]
    broke = [sum(p.broke_first for p in r.parts) for r in records]
    assert broke[0] == 0 and broke == sorted(broke) and broke[-1] > 0
    (check,) = grade(records)
    assert check.status in ("PASS", "WARN", "FAIL") and "Square broke" in check.why
