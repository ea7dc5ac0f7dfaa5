"""The sweep keeps its adversarial images of the pictures' test images (issue #12, "Where the
time goes"): the example grids, Grad-CAM and attention shift show exactly what it counted
instead of attacking those images again."""

from __future__ import annotations

import numpy as np
import pytest

from harness import pictures
from harness.attacks import ATTACKS
from harness.attacks.planned import PlannedAttack
from harness.spec import AttackSpec
from harness.sweep import attack_sweep, clean_eval

pytestmark = pytest.mark.usefixtures("one_thread")
EPS = (0.0, 0.05, 0.1, 0.2)


def planned(name: str, **params) -> PlannedAttack:
    d = ATTACKS.get(name)
    return PlannedAttack(d, d.resolve(AttackSpec(name, params)))


def kept(held_out, p: PlannedAttack, keep: list[int]):
    _, clf, x, y = held_out
    clean = clean_eval(clf, x, 256)
    return attack_sweep(clf, p, x, y, clean, EPS, 256, keep), clean


def _mixed(held_out, clean, k: int = 6) -> list[int]:
    """k test indices, unsorted, the first of them misclassified clean (not attacked)."""
    y = held_out[3]
    wrong, right = np.flatnonzero(clean.pred != y), np.flatnonzero(clean.pred == y)
    return [int(wrong[0]), *(int(i) for i in right[::-1][: k - 1])]


@pytest.mark.parametrize("name", ["fgsm", "pgd"])
def test_kept_images_are_those_the_sweep_counted(held_out, name: str) -> None:
    _, clf, x, y = held_out
    p = planned(name, steps=5) if name == "pgd" else planned(name)
    probe, clean = kept(held_out, p, [])
    assert probe.images is None and probe.kept == ()
    picks = _mixed(held_out, clean)
    o, _ = kept(held_out, p, picks)
    assert o.images.shape == (len(EPS), len(picks), *x.shape[1:]) and o.kept == tuple(picks)
    for e, eps in enumerate(EPS):
        images = o.images[e]
        # robust exactly where the kept image is still classified correctly
        still = clf.predict(images).argmax(1) == y[picks]
        np.testing.assert_array_equal(still, o.robust[e, picks])
        assert np.abs(images - x[picks]).max() <= eps + 1e-6
    np.testing.assert_array_equal(o.images[:, 0], np.repeat(x[picks[:1]], len(EPS), axis=0))
    assert o.robust[-1, picks].mean() < 1  # the attack moved some of them


def test_one_step_images_equal_the_attack_crafted_afresh(held_out) -> None:
    _, clf, x, y = held_out
    p = planned("fgsm")
    o, clean = kept(held_out, p, [])
    picks = _mixed(held_out, clean)[1:]  # all clean-correct: all attacked
    o, _ = kept(held_out, p, picks)
    for e, eps in enumerate(EPS[1:], start=1):
        fresh = p.craft(clf, x[picks], y[picks], eps)
        np.testing.assert_allclose(o.images[e], fresh, atol=1e-6)


def test_pictures_take_the_sweep_images_and_craft_only_off_the_sweep(held_out) -> None:
    _, clf, x, y = held_out
    p = planned("fgsm")
    o, clean = kept(held_out, p, [])
    picks = _mixed(held_out, clean)
    o, _ = kept(held_out, p, picks)

    class Data:  # the two fields ``adversarial`` reads
        x_test, y_test = x, y

    swept = {("m", "fgsm"): o}
    got = pictures.adversarial(swept, "m", p, clf, picks, 0.1, Data)
    assert np.shares_memory(got, o.images) and np.array_equal(got, o.images[EPS.index(0.1)])
    off = pictures.adversarial(swept, "m", p, clf, picks, 0.15, Data)  # not swept: crafted
    np.testing.assert_allclose(off, p.craft(clf, x[picks], y[picks], 0.15), atol=1e-6)
    other = pictures.adversarial(swept, "m", p, clf, picks[1:], 0.1, Data)  # other images
    np.testing.assert_allclose(other, p.craft(clf, x[picks[1:]], y[picks[1:]], 0.1), atol=1e-6)
