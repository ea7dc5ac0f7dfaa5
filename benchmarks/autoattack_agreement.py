"""Does the harness's AutoAttack (``implementation: art``) agree with fra31's (``reference``)?

Trains (or reuses from the weights cache) a PGD-trained and an FGSM-trained model on MNIST
(eps 0.3) and on CIFAR-10 (eps 8/255) with the harness's own specs and training code, then runs
both implementations of AutoAttack standard on the same first ``--n`` test images of each and
prints, per model, the robust accuracy after each part and overall, and the time each took
(wall and CPU time of this process; the time target is judged on CPU time, which the load of
other processes on a shared machine does not inflate).

Targets: ``art`` within 0.5 percentage points of ``reference`` on every model, overall and
after each part (the robust accuracy left after that part and every earlier one), and ``art``
taking at most 1.2x the reference's time. The script exits 1 when a target is missed, 0 when all
are met.

The ``*_l2`` models run L2 AutoAttack (``autoattack_l2``): RobustBench's L2 board's eps 0.5 on
CIFAR-10 (the undefended baseline, and a model adversarially trained with PGD-L2 at 0.5) and
eps 2 on MNIST (the PGD-trained model of ``mnist_pgd``).

    python benchmarks/autoattack_agreement.py                        # full: standard budgets
    python benchmarks/autoattack_agreement.py --models mnist_fgsm mnist_pgd --n 100 \\
        --set dataset.n_train=5000 --budget apgd_iter=20 fab_iter=20 square_queries=500

Needs the ``reference`` extra (pyautoattack) and the staged data (``--data``).

The CPU cut-downs measured on 2 cores (1 thread, weights in one --models-dir; a model's
overrides go to ``--set``; ``mnist_pgd`` also ``model.arch=mnist_cnn``, as small_cnn tops out
near 93% clean):

    mnist_pgd        dataset.n_train=10000 model.train.epochs=1
                     "defence.train={epochs: 3, batch_size: 128, lr: 0.001}"   # 96.05% clean
    mnist_fgsm       dataset.n_train=10000 model.train.epochs=1                # 96.43% clean
    mnist_fast_fgsm  dataset.n_train=20000 model.train.epochs=1 defences.0.train.epochs=5  # 95.70%
    cifar10_pgd      dataset.n_train=8000 model.train.epochs=1
                     "defence.train={epochs: 3, batch_size: 64, lr: 0.001}"    # 43.80% clean
    cifar10_fgsm     (the same as cifar10_pgd)                                 # 44.60% clean

and for L2 (the same --models-dir; budgets cut to --budget apgd_iter=20 fab_iter=20
square_queries=500 where the full ones do not fit):

    mnist_pgd_l2         dataset.n_train=10000 model.train.epochs=1 model.arch=mnist_cnn
                         "defence.train={epochs: 3, batch_size: 128, lr: 0.001}"  # 96.20% clean
    cifar10_standard_l2  dataset.n_train=8000 model.train.epochs=3             # 54.10% clean
    cifar10_pgd_l2       dataset.n_train=8000 model.train.epochs=3
                         "defence.train={epochs: 1, batch_size: 64, lr: 0.001}"   # 42.40% clean
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from harness.attacks import ATTACKS, generate
from harness.attacks.autoattack_parts import part_names, recording
from harness.estimator import build_classifier
from harness.models import build_models
from harness.overrides import apply_overrides
from harness.plan import validate
from harness.prepare import prepare
from harness.spec import AttackSpec
from harness.spec.files import read_spec

HERE = Path(__file__).resolve().parent
MAX_GAP_PP = 0.5  # percentage points, art vs reference robust accuracy
SLACK_PP = 1e-9  # accuracies are image counts over n: 1 of 200 is 0.5 pp, up to float rounding
MAX_TIME_RATIO = 1.2  # art time / reference time
L2_DEFENCE = [  # PGD-L2 adversarial training at the L2 board's eps (RobustBench: 0.5)
    "defence.attack=pgd_l2",
    "defence.eps=0.5",
    "defence.attack_params={steps: 5, step_size: 0.125}",
]
# name -> (spec file, overrides, dataset folder under --data, eps, norm, which model)
MODELS = {
    "mnist_pgd": ("mnist_pgd.yaml", [], "mnist", 0.3, "linf", "hardened"),
    "mnist_fgsm": ("mnist_fgsm.yaml", [], "mnist", 0.3, "linf", "hardened"),
    "mnist_fast_fgsm": ("mnist_fast_at.yaml", [], "mnist", 0.3, "linf", "hardened"),  # Wong 2020
    "cifar10_pgd": ("cifar10_linf.yaml", [], "cifar10", 8 / 255, "linf", "hardened"),
    "cifar10_fgsm": (
        "cifar10_linf.yaml",
        ["defence.attack=fgsm", "defence.attack_params={}"],
        "cifar10",
        8 / 255,
        "linf",
        "hardened",
    ),
    # L2 AutoAttack: RobustBench's L2 board (CIFAR-10, eps 0.5) and MNIST at eps 2
    "cifar10_standard_l2": (
        "cifar10_linf.yaml",
        ["defence=null"],
        "cifar10",
        0.5,
        "l2",
        "baseline",
    ),
    "cifar10_pgd_l2": ("cifar10_linf.yaml", L2_DEFENCE, "cifar10", 0.5, "l2", "hardened"),
    "mnist_pgd_l2": ("mnist_pgd.yaml", [], "mnist", 2.0, "l2", "hardened"),
}
ATTACK = {"linf": "autoattack", "l2": "autoattack_l2"}  # the registered ensemble per norm


def trained_model(name: str, args: argparse.Namespace):
    """The spec's hardened model (trained or reused from ``--models-dir``) and its test data."""
    file, overrides, folder, eps, norm, which = MODELS[name]
    spec_file = read_spec(HERE / file)
    extra = [f"dataset.root={args.data / folder}", *overrides, *args.set]
    apply_overrides(spec_file.raw, extra)
    spec = spec_file.parse()
    torch.set_num_threads(spec.threads or 1)
    plan = validate(spec)
    data, split = prepare(spec)
    built = build_models(spec, plan, data, split, args.models_dir)
    robust = built[0] if which == "baseline" else built[-1]
    clf = build_classifier(robust.model, data.input_shape, data.num_classes)
    clean = float(np.mean(clf.predict(data.x_test).argmax(1) == data.y_test))
    print(
        f"\n{name}: {robust.name} ({robust.training}); clean accuracy {clean:.2%} on all "
        f"{len(data.y_test)} test images"
    )
    for e in robust.history:  # PGD accuracy: FGSM-based training's held-out minibatch
        pgd = "" if e.pgd_acc is None else f", PGD {e.pgd_acc:.2%}"
        print(f"  epoch {e.epoch}: val {e.val_acc:.2%}{pgd}{' (kept)' if e.kept else ''}")
    return clf, data.x_test[: args.n], data.y_test[: args.n], eps, norm


def run_both(clf, x: np.ndarray, y: np.ndarray, eps: float, norm: str, budget: dict) -> dict:
    """Per implementation: robust accuracy after each part, overall, and seconds."""
    out, attack = {}, ATTACKS.get(ATTACK[norm])
    for impl in ("art", "reference"):
        params = attack.resolve(AttackSpec(attack.name, {**budget, "implementation": impl}))
        started, cpu = time.perf_counter(), time.process_time()
        with recording() as log:
            x_adv = generate(clf, attack, params, x, y, eps)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        correct = int(np.sum(clf.predict(x).argmax(1) == y))
        names = part_names(params["version"])
        broke = np.sum([r.broke for r in log], axis=0) if log else np.zeros(len(names))
        after = (correct - np.cumsum(broke)) / len(y)
        overall = float(np.mean(clf.predict(x_adv).argmax(1) == y))
        out[impl] = {"after": after, "overall": overall, "seconds": seconds, "cpu": cpu}
        out["parts"] = names
        print(f"  {impl}: {overall:.2%} robust, {cpu:.1f} s CPU, after parts {after.round(4)}")
    return out


def report(name: str, r: dict) -> list[str]:
    """Prints one model's figures; returns the targets it missed."""
    art, ref = r["art"], r["reference"]
    print(f"\n{name}")
    print("  part       art after  reference after   art - reference")
    missed = []
    for i, part in enumerate(r["parts"]):
        step = 100 * (art["after"][i] - ref["after"][i])
        print(f"  {part:<8} {art['after'][i]:8.2%}   {ref['after'][i]:8.2%}   {step:+8.2f} pp")
        if abs(step) > MAX_GAP_PP + SLACK_PP:
            missed.append(f"{name}: after {part}, art - reference {step:+.2f} pp")
    gap = 100 * (art["overall"] - ref["overall"])  # > 0: art is weaker (higher robust accuracy)
    ratio = art["cpu"] / ref["cpu"]  # CPU time: other processes' load does not count
    print(
        f"  overall  {art['overall']:8.2%}   {ref['overall']:8.2%}   art - reference {gap:+.2f} pp"
    )
    wall = art["seconds"] / ref["seconds"]
    print(f"  wall     {art['seconds']:7.1f}s   {ref['seconds']:7.1f}s   ratio {wall:.2f}x")
    print(f"  cpu      {art['cpu']:7.1f}s   {ref['cpu']:7.1f}s   ratio {ratio:.2f}x")
    if abs(gap) > MAX_GAP_PP + SLACK_PP:  # within 0.5 pp includes 0.5 pp
        side = "weaker" if gap > 0 else "stronger"  # stronger misses agreement, not soundness
        missed.append(
            f"{name}: art - reference {gap:+.2f} pp, art {side} (target within {MAX_GAP_PP} pp)"
        )
    if ratio > MAX_TIME_RATIO:
        missed.append(f"{name}: time ratio {ratio:.2f}x (target <= {MAX_TIME_RATIO}x)")
    return missed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    p.add_argument("--n", type=int, default=300, help="test images per model (first n)")
    p.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    p.add_argument("--models-dir", type=Path, default=HERE.parent / "models")
    p.add_argument("--set", nargs="*", default=[], help="spec overrides for every model")
    p.add_argument("--budget", nargs="*", default=[], help="autoattack params, e.g. apgd_iter=20")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads while the attacks are timed (training uses the spec's); with 2 on a "
        "busy machine art's many small calls slowed far more than the reference's few",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as each model finishes
    budget = {k: yaml.safe_load(v) for k, v in (b.split("=", 1) for b in args.budget)}
    missed = []
    for name in args.models:
        clf, x, y, eps, norm = trained_model(name, args)
        torch.set_num_threads(args.threads)
        missed += report(name, run_both(clf, x, y, eps, norm, budget))
    print("\n" + ("\n".join(f"MISSED {m}" for m in missed) if missed else "all targets met"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
