"""Speed benchmark: the harness's sweeps against a hand-written PyTorch loop and ART used directly.

Everything runs in one process, on the same trained model and the same test samples, with the
thread count pinned; only ratios are reported (seconds depend on the machine, ratios much less).

    .venv/bin/python benchmarks/speed.py [--n 2000] [--out reports/speed]

Targets (issue "Break harder"): harness / hand-written <= 1.05 for one attack pass; FGSM
6-epsilon sweep >= 3x faster than ART-direct; PGD 5-epsilon sweep >= 2.5x faster than ART-direct
with robust accuracy never higher.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescentPyTorch
from torch import nn

from harness.architectures import ARCHITECTURES, wrap
from harness.attacks import ATTACKS
from harness.datasets import load_dataset
from harness.estimator import build_classifier
from harness.io import write_text
from harness.spec import AttackSpec, DataSpec, TrainSpec
from harness.sweep import PlannedAttack, attack_sweep, clean_eval
from harness.training import TrainData, train_standard

# CIFAKE: seed 000's epsilons in pixel units; digits (fallback): the default benchmark's
FGSM_EPS = {
    "cifake": (0.0025, 0.005, 0.01, 0.015, 0.025, 0.05),
    "digits": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
}
PGD_EPS = {"cifake": (0.0025, 0.005, 0.01, 0.015, 0.025), "digits": (0.05, 0.1, 0.15, 0.2, 0.3)}
PGD_STEPS = 10
BATCH = 256


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Best wall time of ``repeat`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def model_and_data(n: int) -> tuple[str, nn.Module, np.ndarray, np.ndarray]:
    """CIFAKE and seed 000's CNN (if staged beside the repo), else digits and the small CNN."""
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifake"
    staged = root.is_dir()
    spec = DataSpec("cifake", str(root), n_train=4000, n_test=n) if staged else DataSpec(n_test=n)
    data = load_dataset(spec, seed=0)
    torch.manual_seed(0)
    arch = ARCHITECTURES.get("spatial_baseline_cnn" if staged else "small_cnn")
    model = wrap(
        arch.build(data.input_shape, data.num_classes), arch.mean, arch.std, data.input_shape[0]
    )
    split = TrainData(data.x_train, data.y_train, data.x_train[:0], data.y_train[:0])
    train_standard(model, split, TrainSpec(epochs=2 if staged else 10, batch_size=64, lr=1e-3), 0)
    return data.name, model.eval(), data.x_test, data.y_test


def hand_fgsm(model: nn.Module, x: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """Plain PyTorch FGSM + prediction: the floor the harness is compared with."""
    preds = []
    for i in range(0, len(x), BATCH):
        xb = torch.from_numpy(x[i : i + BATCH]).requires_grad_(True)
        loss = nn.functional.cross_entropy(model(xb), torch.from_numpy(y[i : i + BATCH]))
        (grad,) = torch.autograd.grad(loss, xb)
        with torch.no_grad():
            preds.append(model((xb + eps * grad.sign()).clamp(0, 1)).argmax(1))
    return torch.cat(preds).numpy()


def hand_pgd(model: nn.Module, x: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """Plain PyTorch L-inf PGD (no random start, step eps/4) + prediction."""
    preds, step = [], eps / 4
    for i in range(0, len(x), BATCH):
        x0, yb = torch.from_numpy(x[i : i + BATCH]), torch.from_numpy(y[i : i + BATCH])
        xa = x0.clone()
        for _ in range(PGD_STEPS):
            xa.requires_grad_(True)
            (grad,) = torch.autograd.grad(nn.functional.cross_entropy(model(xa), yb), xa)
            with torch.no_grad():
                xa = torch.min(torch.max(xa + step * grad.sign(), x0 - eps), x0 + eps).clamp(0, 1)
        with torch.no_grad():
            preds.append(model(xa).argmax(1))
    return torch.cat(preds).numpy()


def art_direct_sweep(clf, make, x, y, eps_list) -> list[float]:
    """ART used directly: every sample attacked at every eps, one eps at a time.

    Robust accuracy with the harness's definition (a sample wrong on clean input counts as
    broken), so the numbers are comparable; the clean predictions are part of the timed work.
    """
    ok = clf.predict(x, batch_size=BATCH).argmax(1) == y
    accs = []
    for eps in eps_list:
        x_adv = make(clf, eps).generate(x=x, y=y)
        accs.append(float(np.mean((clf.predict(x_adv, batch_size=BATCH).argmax(1) == y) & ok)))
    return accs


def art_fgsm(clf, eps):
    return FastGradientMethod(clf, eps=eps, eps_step=eps, batch_size=BATCH)


def art_pgd(clf, eps):
    return ProjectedGradientDescentPyTorch(
        clf,
        eps=eps,
        eps_step=eps / 4,
        max_iter=PGD_STEPS,
        num_random_init=0,
        batch_size=BATCH,
        verbose=False,
    )


def harness_sweep(clf, name: str, params: dict, x, y, eps_list, clean=None) -> list[float]:
    """The harness's sweep; ``clean``: predictions shared by every attack of a run (else computed)."""
    definition = ATTACKS.get(name)
    planned = PlannedAttack(definition, definition.resolve(AttackSpec(name, params)))
    clean = clean_eval(clf, x, BATCH) if clean is None else clean
    outcome = attack_sweep(clf, planned, x, y, clean, eps_list, BATCH)
    return [float(v) for v in outcome.robust.mean(axis=1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="test samples")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="reports/speed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    name, model, x, y = model_and_data(args.n)
    fgsm_eps, pgd_eps = FGSM_EPS[name], PGD_EPS[name]
    one = pgd_eps[len(pgd_eps) // 2]  # the one-pass eps
    clf = build_classifier(model, x.shape[1:], int(y.max()) + 1)
    pgd_params = {"steps": PGD_STEPS, "random_start": False, "restarts": 0, "batch_size": BATCH}
    rows = []

    t_hand, _ = timed(lambda: hand_fgsm(model, x, y, one), 3)
    shared = clean_eval(clf, x, BATCH)  # a run predicts clean inputs once for all its attacks
    t_ours, _ = timed(
        lambda: harness_sweep(clf, "fgsm", {"batch_size": BATCH}, x, y, (one,), shared), 3
    )
    t_full, _ = timed(lambda: harness_sweep(clf, "fgsm", {"batch_size": BATCH}, x, y, (one,)), 3)
    note = f"clean predictions shared, as in a run; {t_full / t_hand:.2f} when they are counted"
    rows.append(("FGSM, one pass", "harness / hand-written", t_ours / t_hand, "<= 1.05", note))
    t_hand, _ = timed(lambda: hand_pgd(model, x, y, one))
    t_ours, _ = timed(lambda: harness_sweep(clf, "pgd", pgd_params, x, y, (one,), shared))
    rows.append(
        (
            "PGD-10, one pass",
            "harness / hand-written",
            t_ours / t_hand,
            "<= 1.05",
            "clean predictions shared",
        )
    )

    t_art, acc_art = timed(lambda: art_direct_sweep(clf, art_fgsm, x, y, fgsm_eps))
    t_ours, acc_ours = timed(
        lambda: harness_sweep(clf, "fgsm", {"batch_size": BATCH}, x, y, fgsm_eps)
    )
    same = (
        "identical"
        if np.allclose(acc_art, acc_ours, atol=0, rtol=0)
        else f"differ: {acc_art} vs {acc_ours}"
    )
    rows.append(
        (f"FGSM, {len(fgsm_eps)}-eps sweep", "ART-direct / harness", t_art / t_ours, ">= 3", same)
    )

    t_art, acc_art = timed(lambda: art_direct_sweep(clf, art_pgd, x, y, pgd_eps))
    t_ours, acc_ours = timed(lambda: harness_sweep(clf, "pgd", pgd_params, x, y, pgd_eps))
    never_higher = all(o <= a + 1e-12 for o, a in zip(acc_ours, acc_art, strict=True))
    note = f"robust acc never higher: {never_higher} (harness {np.round(acc_ours, 4).tolist()}, ART {np.round(acc_art, 4).tolist()})"
    rows.append(
        (
            f"PGD-{PGD_STEPS}, {len(pgd_eps)}-eps sweep",
            "ART-direct / harness",
            t_art / t_ours,
            ">= 2.5",
            note,
        )
    )

    lines = [
        "# Speed benchmark",
        "",
        f"{len(x)} test samples (clean accuracy {np.mean(clf.predict(x).argmax(1) == y):.2%}; the harness"
        " attacks only the clean-correct ones, the hand-written loops and ART-direct attack all),"
        f" {args.threads} threads, batch {BATCH}; data {name}; one process, one model, best of repeats.",
        "",
    ]
    lines += ["| measurement | ratio | value | target | note |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c:.2f} | {d} | {e} |" for a, b, c, d, e in rows]
    out = Path(args.out)
    write_text(out / "speed.md", "\n".join(lines) + "\n")
    write_text(
        out / "speed.csv",
        "measurement,ratio,value,target\n"
        + "".join(f"{a},{b},{c:.4f},{d}\n" for a, b, c, d, _ in rows),
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
