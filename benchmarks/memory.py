"""Peak memory of the Break phase on a test set larger than memory (issue 12): not a timed test.

Builds ``ROOT/test/<class>/*.jpg`` from the staged CIFAR-10 test images, upscaled to 224x224
(cycling through them for N > 10,000), then, for each N in its own process (so ``ru_maxrss``
is that run's own peak):

1. ``load_dataset`` (``imagefolder``, ``image_size: 224``): every image decoded into the uint8
   ``.npy`` cache one at a time, the split returned lazy;
2. a read of the whole split, chunk by chunk, as the sweep reads it;
3. the clean pass (``sweep.clean_eval``) of a torchvision ResNet-18 (random weights, seeded)
   over ``--n-clean`` images (default: all N);
4. an FGSM sweep over the first ``--n-attack`` images and a PGD-10 sweep over the first
   ``--n-pgd`` (``sweep.attack_sweep``, batch 32), labelled with the model's own clean
   predictions so that every one of them is attacked (random weights get ~10% right). On a
   loaded 2-core CPU a ResNet-18 forward at 224 px takes about a second per image, so the
   model's work is bounded while the data path (steps 1-2) runs at full N.

Peak RSS is printed after each step. Target: at most 3 GB, and the same for N = 2,000 and
10,000 (the split is never held whole: 10,000 images are 6 GB as float32)::

    PYTHONPATH=$PWD python benchmarks/memory.py --n 2000 10000 --n-clean 32 --n-attack 32 --n-pgd 8

Measured (session 6, load ~24, one N per invocation, OMP_NUM_THREADS=1): peak RSS after
load / full read / clean pass / FGSM (32 images, batch 32) / PGD-10 (8 images):
N=2,000: 839 / 1023 / 1170 / 1829 / 1829 MB; N=10,000: 846 / 1024 / 1148 / 1845 / 1845 MB
(836 MB of it is the imports of torch, torchvision and ART). Not measured: the clean pass and
the attacks at full N (about a second per image per forward on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STAGED = Path("/work/shared/data/cifar10/test")  # --source: class folders of 32x32 PNGs
SIZE = 224  # pixels
BATCH = 32
EPS = [0.0, 4 / 255]  # L-inf, pixel units (one eps: PGD-10 is 10 steps per image)


def peak_mb() -> float:
    """This process's peak resident set so far, MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_folder(source: Path, root: Path, n: int) -> None:
    """``root/test/<class>/`` with n upscaled JPEGs (classes in turn), and one train image per
    class (imagefolder's train/test layout; training is not measured)."""
    from PIL import Image

    classes = sorted(p.name for p in source.iterdir() if p.is_dir())
    files = {c: sorted((source / c).glob("*.png")) for c in classes}
    for i in range(n):
        c = classes[i % len(classes)]
        src = files[c][(i // len(classes)) % len(files[c])]
        out = root / "test" / c / f"{i:06d}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(src).convert("RGB").resize((SIZE, SIZE), Image.Resampling.BILINEAR).save(
            out, quality=90
        )
    for c in classes:
        (root / "train" / c).mkdir(parents=True, exist_ok=True)
        Image.open(files[c][0]).convert("RGB").save(root / "train" / c / "0.png")


def measure(root: Path, n_clean: int | None, n_attack: int, n_pgd: int) -> dict:
    """Run steps 1-4 in this process; peak RSS (MB) and seconds after each."""
    import torch
    from torchvision.models import resnet18

    from harness.attacks import ATTACKS
    from harness.datasets import load_dataset
    from harness.estimator import build_classifier
    from harness.spec import AttackSpec, DataSpec
    from harness.sweep import PlannedAttack, attack_sweep, chunk_size, chunks, clean_eval

    out, start = {"peak_mb_start": peak_mb()}, time.perf_counter()

    def step(name: str) -> None:
        out[f"peak_mb_{name}"] = round(peak_mb())
        out[f"seconds_{name}"] = round(time.perf_counter() - start, 1)

    data = load_dataset(DataSpec("imagefolder", root=str(root), image_size=SIZE), 0)
    out["n_test"], out["shape"] = len(data.x_test), list(data.x_test.shape)
    step("load")
    total = sum(float(data.x_test[s].sum()) for s in chunks(len(data.x_test), 256))
    out["mean_pixel"] = total / np.prod(data.x_test.shape)
    step("read")
    torch.manual_seed(0)
    model = resnet18(num_classes=data.num_classes).eval()
    clf = build_classifier(model, data.input_shape, data.num_classes)
    clean = clean_eval(clf, data.x_test.subset(np.arange(n_clean or len(data.x_test))), BATCH)
    step("clean")
    for name, params, n in (("fgsm", {}, n_attack), ("pgd", {"steps": 10}, n_pgd)):
        x, y = data.x_test.subset(np.arange(n)), clean.pred[:n]  # its own predictions: all attacked
        d = ATTACKS.get(name)
        planned = PlannedAttack(d, d.resolve(AttackSpec(name, {**params, "batch_size": BATCH})))
        o = attack_sweep(clf, planned, x, y, type(clean)(y, clean.probs[:n]), EPS, BATCH)
        out[f"{name}_attacked"] = int(o.attacked.sum())
        out[f"{name}_robust"] = o.robust.mean(axis=1).round(3).tolist()
        step(name)
    out["chunk"] = chunk_size(data.x_test.shape[1:], BATCH, BATCH)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[2000, 10000], help="test images")
    p.add_argument("--n-clean", type=int, default=None, help="images in the clean pass (all)")
    p.add_argument("--n-attack", type=int, default=64, help="images attacked by FGSM")
    p.add_argument("--n-pgd", type=int, default=8, help="images attacked by PGD-10")
    p.add_argument("--source", type=Path, default=STAGED)
    p.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # one N, in this process
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(measure(a.child, a.n_clean, a.n_attack, a.n_pgd)))
        return 0
    with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
        for n in a.n:
            print(json.dumps({"n": n, **_one(a, Path(tmp), n)}), flush=True)
    return 0


def _one(a: argparse.Namespace, tmp: Path, n: int) -> dict:
    """Build the folder for n images, then measure it in a fresh process."""
    root, t = tmp / f"n{n}", time.perf_counter()
    build_folder(a.source, root, n)
    built = round(time.perf_counter() - t, 1)
    cmd = [sys.executable, __file__, "--child", str(root), "--n-attack", str(a.n_attack)]
    cmd += ["--n-pgd", str(a.n_pgd)]
    cmd += ["--n-clean", str(a.n_clean)] if a.n_clean else []
    env = {**os.environ, "HARNESS_CACHE": str(tmp / "cache")}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return {"seconds_build": built, **json.loads(done.stdout.strip().splitlines()[-1])}


if __name__ == "__main__":
    sys.exit(main())
