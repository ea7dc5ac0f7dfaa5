"""Speed benchmark: the harness's sweeps against a hand-written PyTorch loop and ART used directly.

Everything of one setup runs in one process, on the same model and the same test samples, with
the thread count pinned; only ratios are reported (seconds depend on the machine and its load,
ratios much less). Setups: CIFAKE with the CIFAKE study's CNN (trained briefly; digits and the small CNN
when CIFAKE is not staged) and a ResNet-18 (torchvision's, random weights) on CIFAR-10, on the
CPU and, when present, on CUDA.

    .venv/bin/python benchmarks/speed.py [--n 2000] [--n-resnet 128] [--setups cifake,resnet]
        [--rows attacks,training] [--threads 2] [--repeat 5] [--clock cpu] [--data DIR]
        [--out reports/speed]

Method (benchmarks/speed_timing.py): ``--repeat`` interleaved repeats, every run timed on both
clocks (process CPU time and wall time); each repeat gives a ratio from the two contenders'
timings of that repeat; a row reports the median ratio and its min-max spread on each clock. A row
is judged on ``--clock`` (CUDA rows: wall): ``met`` or ``missed`` only when the whole spread lies
on one side of the target, otherwise ``undecided: rerun on a quiet machine``. The table's header
records the CPU model, the thread count and the load average (before and after).

Targets: harness / hand-written <= 1.05 for one attack pass; FGSM 6-eps sweep >= 3x
faster than ART-direct; PGD-10 5-eps sweep >= 2.5x faster than ART-direct with robust accuracy
never higher; one epoch of Madry and TRADES adversarial training <= 1.15x a hand-written loop
with the same steps (benchmarks/speed_training.py, on the setup's test images). Exits 1 only when a
row is ``missed`` (an undecided row does not fail), so a regression shows. Without CUDA the CUDA rows are skipped (said so).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescentPyTorch
from art.estimators.classification import PyTorchClassifier
from torch import nn

from harness.architectures import ARCHITECTURES, wrap
from harness.attacks import ATTACKS
from harness.attacks.planned import PlannedAttack
from harness.datasets import load_dataset, materialize
from harness.io import write_text
from harness.spec import AttackSpec, DataSpec, TrainSpec
from harness.sweep import attack_sweep, clean_eval
from harness.training import TrainData, train_standard

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its sibling module
from speed_timing import CLOCKS, MISSED, Judged, Timing, interleaved, judge
from speed_training import training_rows

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # staged beside the repo
# the CIFAKE study's epsilons in pixel units (CIFAKE, also used for CIFAR-10); digits: the default benchmark's
FGSM_EPS = {
    "cifake": (0.0025, 0.005, 0.01, 0.015, 0.025, 0.05),
    "digits": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
}
PGD_EPS = {"cifake": (0.0025, 0.005, 0.01, 0.015, 0.025), "digits": (0.05, 0.1, 0.15, 0.2, 0.3)}
PGD_STEPS = 10
BATCH = 256
# the fast sweep: early stopping (same robust accuracy) and warm starts (never higher)
PGD_FAST = {"early_stop": True, "warm_start": True}


@dataclass
class Setup:
    name: str  # e.g. "cifake / spatial_baseline_cnn / cpu"
    eps: str  # key of FGSM_EPS / PGD_EPS
    model: nn.Module
    clf: PyTorchClassifier
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Row:
    setup: str
    measurement: str
    ratio: str
    target: str
    judged: dict[str, Judged]  # clock name -> median, spread, verdict on that clock
    clock: str  # the clock the row is judged on
    note: str = ""
    correct: bool = (
        True  # False (e.g. robust accuracy higher than ART's): missed, whatever the time
    )

    @property
    def verdict(self) -> str:
        return self.judged[self.clock].verdict if self.correct else f"{MISSED} (not correct)"


def judged(numerator: Timing, denominator: Timing, target: str) -> dict[str, Judged]:
    """The per-repeat ratio numerator / denominator judged against ``target`` on every clock."""
    return {c: judge(numerator.seconds[c], denominator.seconds[c], target) for c in CLOCKS}


def classifier_on(model: nn.Module, x: np.ndarray, y: np.ndarray, device: str) -> PyTorchClassifier:
    """ART's classifier as the harness pins it (harness.estimator), on ``device``."""
    return PyTorchClassifier(
        model=model.to(device).eval(),
        loss=nn.CrossEntropyLoss(),
        input_shape=tuple(x.shape[1:]),
        nb_classes=int(y.max()) + 1,
        clip_values=(0.0, 1.0),
        preprocessing=(0.0, 1.0),
        channels_first=True,
        device_type="gpu" if device == "cuda" else "cpu",
    )


def cifake_setup(n: int, data: Path) -> tuple[str, str, nn.Module, np.ndarray, np.ndarray]:
    """CIFAKE and the CIFAKE study's CNN trained 2 epochs (if staged under ``data``), else digits."""
    root = data / "cifake"
    staged = root.is_dir()
    spec = DataSpec("cifake", str(root), n_train=4000, n_test=n) if staged else DataSpec(n_test=n)
    ds = load_dataset(spec, seed=0)
    torch.manual_seed(0)
    arch = ARCHITECTURES.get("spatial_baseline_cnn" if staged else "small_cnn")
    model = wrap(arch.build(ds.input_shape, ds.num_classes), arch.mean, arch.std, ds.input_shape[0])
    x_train = materialize(ds.x_train)  # a lazy split (harness.datasets.lazy) read whole
    split = TrainData(x_train, ds.y_train, x_train[:0], ds.y_train[:0])
    train_standard(model, split, TrainSpec(epochs=2 if staged else 10, batch_size=64, lr=1e-3), 0)
    label = "cifake / spatial_baseline_cnn" if staged else "digits / small CNN"
    x_test = materialize(ds.x_test)
    return label, "cifake" if staged else "digits", model.eval(), x_test, ds.y_test


def resnet_setup(n: int, data: Path) -> tuple[str, str, nn.Module, np.ndarray, np.ndarray]:
    """torchvision's ResNet-18 with random weights on n CIFAR-10 test images."""
    import torchvision

    ds = load_dataset(DataSpec("cifar10", str(data / "cifar10"), n_train=10, n_test=n), seed=0)
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=10)
    model = wrap(net, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), 3).eval()
    # random weights predict one class; label each image by the model so that every sample is
    # clean-correct and attacked (speed is what is measured here, not accuracy)
    x = materialize(ds.x_test)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).argmax(1).numpy().astype(np.int64)
    return "cifar10 / ResNet-18 (random weights)", "cifake", model, x, y


# ---------------------------------------------------------------- the hand-written floor


def _batches(s: Setup):
    device = next(s.model.parameters()).device
    for i in range(0, len(s.x), BATCH):
        yield (
            torch.from_numpy(s.x[i : i + BATCH]).to(device),
            torch.from_numpy(s.y[i : i + BATCH]).to(device),
        )


def hand_fgsm(s: Setup, eps: float) -> np.ndarray:
    """Plain PyTorch FGSM + prediction."""
    preds = []
    for xb, yb in _batches(s):
        xg = xb.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(nn.functional.cross_entropy(s.model(xg), yb), xg)
        with torch.no_grad():
            preds.append(s.model((xb + eps * grad.sign()).clamp(0, 1)).argmax(1).cpu())
    return torch.cat(preds).numpy()


def hand_pgd(s: Setup, eps: float) -> np.ndarray:
    """Plain PyTorch L-inf PGD (no random start, step eps/4) + prediction."""
    preds, step = [], eps / 4
    for x0, yb in _batches(s):
        xa = x0.clone()
        for _ in range(PGD_STEPS):
            xa.requires_grad_(True)
            (grad,) = torch.autograd.grad(nn.functional.cross_entropy(s.model(xa), yb), xa)
            with torch.no_grad():
                xa = torch.min(torch.max(xa + step * grad.sign(), x0 - eps), x0 + eps).clamp(0, 1)
        with torch.no_grad():
            preds.append(s.model(xa).argmax(1).cpu())
    return torch.cat(preds).numpy()


# ---------------------------------------------------------------- ART used directly


def art_direct_sweep(s: Setup, make, eps_list) -> list[float]:
    """Every sample attacked at every eps, one eps at a time; robust accuracy as the harness
    defines it (wrong on clean input counts as broken); clean predictions are part of the work."""
    ok = s.clf.predict(s.x, batch_size=BATCH).argmax(1) == s.y
    accs = []
    for eps in eps_list:
        x_adv = make(s.clf, eps).generate(x=s.x, y=s.y)
        pred = s.clf.predict(x_adv, batch_size=BATCH).argmax(1)
        accs.append(float(np.mean((pred == s.y) & ok)))
    return accs


def art_fgsm(clf, eps):
    return FastGradientMethod(clf, eps=eps, eps_step=eps, batch_size=BATCH)


def art_pgd(clf, eps):
    return ProjectedGradientDescentPyTorch(
        clf, eps=eps, eps_step=eps / 4, max_iter=PGD_STEPS, num_random_init=0, batch_size=BATCH,
        verbose=False,
    )  # fmt: skip


def harness_sweep(s: Setup, name: str, params: dict, eps_list, clean=None) -> list[float]:
    """The harness's sweep; ``clean``: predictions shared by every attack of a run (else computed)."""
    definition = ATTACKS.get(name)
    planned = PlannedAttack(definition, definition.resolve(AttackSpec(name, params)))
    clean = clean_eval(s.clf, s.x, BATCH) if clean is None else clean
    outcome = attack_sweep(s.clf, planned, s.x, s.y, clean, eps_list, BATCH)
    return [float(v) for v in outcome.robust.mean(axis=1)]


# ---------------------------------------------------------------- the rows


def one_pass_rows(s: Setup, repeat: int, clock: str) -> list[Row]:
    """FGSM and PGD-10 once at the middle eps: harness / hand-written, the same work on both
    sides: the clean predictions are shared (a run makes them once for all attacks), and the
    hand-written loop attacks the samples the harness attacks, the clean-correct ones."""
    one = PGD_EPS[s.eps][len(PGD_EPS[s.eps]) // 2]
    shared = clean_eval(s.clf, s.x, BATCH)
    ok = shared.correct(s.y)
    same = replace(s, x=s.x[ok], y=s.y[ok])
    pgd = {"steps": PGD_STEPS, "random_start": False, "batch_size": BATCH}
    fgsm = {"batch_size": BATCH}
    rows = []
    for label, hand, name, params in (
        ("FGSM, one pass", hand_fgsm, "fgsm", fgsm),
        (f"PGD-{PGD_STEPS}, one pass", hand_pgd, "pgd", pgd),
    ):
        t = interleaved(
            {
                "hand": lambda h=hand: h(same, one),
                "ours": lambda n=name, p=params: harness_sweep(s, n, p, (one,), shared),
            },
            repeat,
        )
        note = f"eps {one}; both attack the {ok.sum()} clean-correct samples"
        j = judged(t["ours"], t["hand"], "<= 1.05")
        rows.append(Row(s.name, label, "harness / hand-written", "<= 1.05", j, clock, note))
    return rows


def sweep_rows(s: Setup, repeat: int, clock: str) -> list[Row]:
    """FGSM's 6-eps and PGD-10's 5-eps sweeps: ART-direct / harness, clean predictions counted."""
    fgsm_eps, pgd_eps = FGSM_EPS[s.eps], PGD_EPS[s.eps]
    t = interleaved(
        {
            "art": lambda: art_direct_sweep(s, art_fgsm, fgsm_eps),
            "ours": lambda: harness_sweep(s, "fgsm", {"batch_size": BATCH}, fgsm_eps),
        },
        repeat,
    )
    acc_art, acc_ours = t["art"].result, t["ours"].result
    same = "identical" if acc_art == acc_ours else f"differ: {acc_art} vs {acc_ours}"
    fgsm = Row(s.name, f"FGSM, {len(fgsm_eps)}-eps sweep", "ART-direct / harness", ">= 3",
               judged(t["art"], t["ours"], ">= 3"), clock, f"robust accuracy {same}")  # fmt: skip
    pgd = {"steps": PGD_STEPS, "random_start": False, "batch_size": BATCH, **PGD_FAST}
    t = interleaved(
        {
            "art": lambda: art_direct_sweep(s, art_pgd, pgd_eps),
            "ours": lambda: harness_sweep(s, "pgd", pgd, pgd_eps),
        },
        repeat,
    )
    acc_art, acc_ours = t["art"].result, t["ours"].result
    lower = all(o <= a + 1e-12 for o, a in zip(acc_ours, acc_art, strict=True))
    note = (f"early_stop + warm_start; robust accuracy never higher: {lower} (harness "
            f"{np.round(acc_ours, 4).tolist()}, ART {np.round(acc_art, 4).tolist()})")  # fmt: skip
    row = Row(s.name, f"PGD-{PGD_STEPS}, {len(pgd_eps)}-eps sweep", "ART-direct / harness",
              ">= 2.5", judged(t["art"], t["ours"], ">= 2.5"), clock, note, lower)  # fmt: skip
    return [fgsm, row]


def table(rows: list[Row], header: str) -> str:
    """Markdown: per clock the median ratio [min-max over the repeats] and that clock's verdict;
    the row's verdict is its judged clock's."""
    clocks = " | ".join(f"{c}: median [min-max]" for c in CLOCKS)
    lines = [header, "", f"| setup | measurement | ratio | target | {clocks} | verdict | note |"]
    lines.append("| --- " * (6 + len(CLOCKS)) + "|")
    for r in rows:
        cells = " | ".join(
            f"{r.judged[c].cell()} {r.judged[c].verdict.split(':')[0]}" for c in CLOCKS
        )
        lines.append(
            f"| {r.setup} | {r.measurement} | {r.ratio} | {r.target} | {cells} | "
            f"{r.verdict} ({r.clock}) | {r.note} |"
        )
    return "\n".join(lines) + "\n"


def rows_csv(rows: list[Row]) -> str:
    """One line per row: every clock's median, min and max ratio, and the verdict."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    stats = [f"{c}_{k}" for c in CLOCKS for k in ("median", "min", "max")]
    out.writerow(["setup", "measurement", "ratio", "target", *stats, "clock", "verdict"])
    for r in rows:
        values = [f"{v:.4f}" for c in CLOCKS for v in (r.judged[c].median, r.judged[c].low,
                                                       r.judged[c].high)]  # fmt: skip
        out.writerow([r.setup, r.measurement, r.ratio, r.target, *values, r.clock, r.verdict])
    return buf.getvalue()


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo; else what the platform says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="test samples (CIFAKE)")
    parser.add_argument("--n-resnet", type=int, default=128, help="test samples (ResNet-18)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--repeat", type=int, default=5, help="interleaved repeats (one ratio per repeat)"
    )
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="cpu", help="the clock rows are judged on"
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--setups", default="cifake,resnet", help="comma-separated: cifake, resnet")
    parser.add_argument("--out", default="reports/speed")
    parser.add_argument(
        "--rows", default="attacks,training", help="comma-separated: attacks, training"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = load_average()
    chosen, parts = args.setups.split(","), args.rows.split(",")
    builders = [lambda: cifake_setup(args.n, args.data)] if "cifake" in chosen else []
    if "resnet" in chosen and (args.data / "cifar10").is_dir():
        builders.append(lambda: resnet_setup(args.n_resnet, args.data))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if "cuda" not in devices:
        print("CUDA is not available: the CUDA rows are skipped", flush=True)
    rows: list[Row] = []
    for build in builders:
        label, eps_key, model, x, y = build()
        for device in devices:
            s = Setup(
                f"{label} / {device}", eps_key, model, classifier_on(model, x, y, device), x, y
            )
            clock = args.clock if device == "cpu" else "wall"  # a GPU's work is not CPU time
            if "attacks" in parts:
                rows += one_pass_rows(s, args.repeat, clock) + sweep_rows(s, args.repeat, clock)
                print(table(rows, "# Speed benchmark (so far)"), flush=True)
            if "training" in parts:
                rows += [Row(s.name, m, "harness / hand-written", target, j, clock, note)
                         for m, target, j, note in training_rows(model, x, y, args.repeat,
                                                                 clock)]  # fmt: skip
            print(table(rows, "# Speed benchmark (so far)"), flush=True)
    header = (f"# Speed benchmark\n\nCPU: {cpu_model()} ({os.cpu_count()} logical CPUs); "
              f"torch threads: {torch.get_num_threads()}; load average (1, 5, 15 min) before: "
              f"{load_before}, after: {load_average()}; torch {torch.__version__}.\n\n"
              f"{args.repeat} interleaved repeats, one process, batch {BATCH}; each ratio per "
              "repeat from the same repeat's timings, shown as median [min-max] on both clocks "
              "(cpu: process CPU time, wall: wall time); verdict on the clock named beside it: "
              "met or missed only when the whole spread is on one side of the target. One pass: "
              "both sides attack the clean-correct samples; sweeps: ART-direct attacks all, the "
              "harness the clean-correct ones; training: the setup's test images.")  # fmt: skip
    out = Path(args.out)
    write_text(out / "speed.md", table(rows, header))
    write_text(out / "speed.csv", rows_csv(rows))
    print(table(rows, header))
    return 1 if any(r.verdict.startswith(MISSED) for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
