"""Peak memory of the Break phase on a test set larger than memory: not a timed test.

Builds ``ROOT/test/<class>/*.jpg`` from the staged CIFAR-10 test images, upscaled to 224x224
(cycling through them for N > 10,000), then, for each N in its own process (so ``ru_maxrss``
is that run's own peak):

1. ``load_dataset`` (``imagefolder``, ``image_size: 224``): every image decoded into the uint8
   ``.npy`` cache one at a time, the split returned lazy;
2. a read of the whole split, chunk by chunk, as the sweep reads it;
3. the clean pass (``sweep.clean_eval``) of a torchvision ResNet-18 (random weights, seeded)
   over ``--n-clean`` images (default: all N);
4. an FGSM sweep over the first ``--n-attack`` images and a PGD-10 sweep over the first
   ``--n-pgd`` (default: all N; ``sweep.attack_sweep``, batch 32, eps 4/255). Labelled with
   the true labels, the sweep attacks only the clean-correct images, as the Break phase does:
   random weights get about 10% right, so the attacks cover about N/10 images while the clean
   pass covers all N. ``--own-labels`` labels by the clean predictions, so all are attacked.

Peak RSS (``ru_maxrss``) and CPU seconds are printed after each step. Target: at most 3 GB, and
independent of N (the split is never held whole: 10,000 images are 6 GB as float32)::

    PYTHONPATH=$PWD python benchmarks/memory.py --n 400 1000

Cost here (CPU seconds, one thread): the clean pass about 0.1 s per image, FGSM about 0.3 s
and PGD-10 about 1.9 s per attacked image.

Measured (load 12-20, one N per invocation, OMP_NUM_THREADS=1, every pass over all
N): peak RSS after load / full read / clean / FGSM / PGD-10, MB, and the run's CPU seconds:
N=400 (40 attacked): 837 / 1021 / 1277 / 1823 / 2021 (140 s);
N=1,000 (100 attacked): 837 / 1021 / 1272 / 1901 / 2184 (327 s).
Session 8 (the same, the two N in parallel, ``--n 2000`` and ``--n 10000`` each in its own
invocation with ``--workdir``, ``/usr/bin/time -v``):
N=2,000 (200 attacked): 836 / 1020 / 1313 / 1991 / 2317 (512 s user + system);
N=10,000 (1,000 attacked): 845 / 1023 / 1292 / 2026 / 2266 (2,472 s).
Five times the images take no more memory: the peak is set by one chunk's passes (96 images
at 224 px with batch 32), not by N. The rise from N=400 to 2,000 stops (10,000 is 51 MB below
2,000); we believe it is the allocator's free lists filling as more chunks pass (not measured).
About 836 MB is the imports of torch, torchvision and ART. Session 6 ran the data path at full
N with bounded model passes (``--n-clean 32 --n-attack 32 --n-pgd 8``): N=2,000: 839 / 1023 /
1170 / 1829 / 1829 MB; N=10,000: 846 / 1024 / 1148 / 1845 / 1845 MB.
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

# --source: class folders of 32x32 PNGs, staged in ../shared beside the checkout
STAGED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10" / "test"
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


def measure(
    root: Path, n_clean: int | None, n_attack: int | None, n_pgd: int | None, own: bool
) -> dict:
    """Run steps 1-4 in this process; peak RSS (MB), seconds and CPU seconds after each."""
    import torch
    from torchvision.models import resnet18

    from harness.batching import chunk_size, chunks
    from harness.datasets import load_dataset
    from harness.estimator import build_classifier
    from harness.spec import DataSpec
    from harness.sweep import clean_eval

    out, start, cpu = {"peak_mb_start": peak_mb()}, time.perf_counter(), time.process_time()

    def step(name: str) -> None:
        out[f"peak_mb_{name}"] = round(peak_mb())
        out[f"seconds_{name}"] = round(time.perf_counter() - start, 1)
        out[f"cpu_seconds_{name}"] = round(time.process_time() - cpu, 1)
        print(json.dumps({k: v for k, v in out.items() if name in k}), file=sys.stderr, flush=True)

    data = load_dataset(DataSpec("imagefolder", root=str(root), image_size=SIZE), 0)
    out["n_test"], out["shape"] = len(data.x_test), list(data.x_test.shape)
    step("load")
    total = sum(float(data.x_test[s].sum()) for s in chunks(len(data.x_test), 256))
    out["mean_pixel"] = total / np.prod(data.x_test.shape)
    step("read")
    torch.manual_seed(0)
    model = resnet18(num_classes=data.num_classes).eval()
    clf = build_classifier(model, data.input_shape, data.num_classes)
    n = n_clean or len(data.x_test)
    clean = clean_eval(clf, data.x_test.subset(np.arange(n)), BATCH)
    out["clean_images"] = n
    out["clean_correct"] = int((clean.pred == data.y_test[:n]).sum())
    step("clean")
    for name, params, k in (("fgsm", {}, n_attack), ("pgd", {"steps": 10}, n_pgd)):
        _attack(out, clf, data, clean, name, params, min(k or n, n), own)
        step(name)
    out["chunk"] = chunk_size(data.x_test.shape[1:], BATCH, BATCH)
    return out


def _attack(out: dict, clf, data, clean, name: str, params: dict, n: int, own: bool) -> None:
    """One sweep over the first n images: labelled with the true labels, the harness attacks
    only the clean-correct ones (as the Break phase does); ``own``: with the model's own clean
    predictions, so that all n are attacked."""
    from harness.attacks import ATTACKS
    from harness.attacks.planned import PlannedAttack
    from harness.spec import AttackSpec
    from harness.sweep import attack_sweep

    x, y = data.x_test.subset(np.arange(n)), (clean.pred if own else data.y_test)[:n]
    d = ATTACKS.get(name)
    planned = PlannedAttack(d, d.resolve(AttackSpec(name, {**params, "batch_size": BATCH})))
    o = attack_sweep(clf, planned, x, y, type(clean)(clean.pred[:n], clean.probs[:n]), EPS, BATCH)
    out[f"{name}_images"], out[f"{name}_attacked"] = n, int(o.attacked.sum())
    out[f"{name}_robust"] = o.robust.mean(axis=1).round(3).tolist()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[2000, 10000], help="test images")
    p.add_argument("--n-clean", type=int, default=None, help="images in the clean pass (all)")
    p.add_argument("--n-attack", type=int, default=None, help="images swept by FGSM (all)")
    p.add_argument("--n-pgd", type=int, default=None, help="images swept by PGD-10 (all)")
    p.add_argument("--own-labels", action="store_true", help="label by clean predictions")
    p.add_argument("--source", type=Path, default=STAGED)
    p.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # one N, in this process
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(measure(a.child, a.n_clean, a.n_attack, a.n_pgd, a.own_labels)))
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
    cmd = [sys.executable, __file__, "--child", str(root)]
    for flag, value in (("--n-clean", a.n_clean), ("--n-attack", a.n_attack), ("--n-pgd", a.n_pgd)):
        cmd += [flag, str(value)] if value else []
    cmd += ["--own-labels"] if a.own_labels else []
    env = {**os.environ, "HARNESS_CACHE": str(tmp / "cache")}
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode:  # its traceback went to stderr, with the steps it finished
        return {"error": f"exit status {done.returncode}"}
    return {"seconds_build": built, **json.loads(done.stdout.strip().splitlines()[-1])}


if __name__ == "__main__":
    sys.exit(main())
