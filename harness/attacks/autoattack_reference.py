"""AutoAttack standard as fra31/auto-attack's own code runs it (``implementation: reference``).

Croce & Hein 2020, arXiv:2003.01690; the code is the ``pyautoattack`` package (the harness's
optional extra ``reference``). It runs on the harness's wrapped model as it is: [0, 1] pixels
in (normalization inside the model), logits out, eval mode, on the model's own device. The
parts run one at a time through the reference's ``run_standard_evaluation`` (each on the
samples every earlier part failed on, in batches of ``batch_size``, exactly as its full loop
does) so that what each part broke can be counted.

Where the run differs from calling the package by hand, and why:

- pyautoattack 0.2.0 imports ``torch.autograd.gradcheck.zero_gradients``, removed from torch in
  1.9; ``_load`` puts back a function with the same effect (zero the input's gradient) first.
- the reference's targeted parts pick their targets as the k-th largest logit; with fewer
  than 10 classes they get ``num_classes - 1`` targets, and its targeted DLR loss reads the
  4th-largest logit, so a model with fewer than 4 classes is refused.
- the reference reseeds torch's global generator; it runs inside ``torch.random.fork_rng`` so
  nothing after it sees a changed generator.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import torch
from art.attacks.attack import EvasionAttack
from art.estimators.classification import PyTorchClassifier

from harness import device
from harness.attacks.autoattack_parts import PartRun, n_targets, note, part_names, parts
from harness.errors import HarnessError

PACKAGE = "pyautoattack"  # PyPI name; it installs the module ``autoattack``
EXTRA = "reference"  # pip install "robustness-harness[reference]"
RUNS = {  # the reference's names of each version's parts, in order
    "standard": ("apgd-ce", "apgd-t", "fab-t", "square"),
    "rand": ("apgd-ce", "apgd-dlr"),  # its set_version gives APGD eot_iter 20
}
MIN_CLASSES = 4  # the reference's targeted DLR loss reads the 4th-largest logit


def available() -> bool:
    """Whether fra31's package is importable."""
    return importlib.util.find_spec("autoattack") is not None


def require(where: str) -> None:
    """Refuse ``implementation: reference`` when the package is missing, naming the extra."""
    if not available():
        raise HarnessError(
            f"{where}: 'reference' needs fra31's AutoAttack, which is not installed; "
            f'expected pip install "robustness-harness[{EXTRA}]" (package {PACKAGE})'
        )


def describe(params: dict[str, Any], num_classes: int) -> list[str]:
    """What the reference runs for these parameters, one line a part."""
    iters, targets = params["apgd_iter"], n_targets(params, num_classes)
    ref = "fra31/auto-attack's code"
    if params["version"] == "rand":
        eot = "EoT 20; rand version: the model is randomized"
        return [f"APGD-CE ({iters} iter, {eot}; {ref})", f"APGD-DLR ({iters} iter, {eot}; {ref})"]
    return [
        f"APGD-CE ({iters} iter, 1 restart; {ref})",
        f"APGD-T DLR ({iters} iter, {targets} targets, 1 restart each; {ref})",
        f"FAB-T ({params['fab_iter']} iter, {targets} targets, 1 restart each; {ref})",
        f"Square ({params['square_queries']} queries, 1 restart, p_init 0.8; {ref})",
    ]


def _load() -> type:
    """The reference's ``AutoAttack`` class, after restoring what its import needs."""
    require("autoattack.implementation")
    gradcheck = importlib.import_module("torch.autograd.gradcheck")  # the module, not the function
    if not hasattr(gradcheck, "zero_gradients"):  # removed in torch 1.9; pyautoattack needs it
        gradcheck.zero_gradients = _zero_gradients
    from autoattack import AutoAttack

    return AutoAttack


def _zero_gradients(x: torch.Tensor) -> None:
    """What torch's removed ``zero_gradients`` did for a tensor: zero its gradient, if any."""
    if x.grad is not None:
        x.grad.detach_()
        x.grad.zero_()


class ReferenceAutoAttack(EvasionAttack):
    """The reference's standard AutoAttack on the harness's model, part by part."""

    _estimator_requirements = ()

    def __init__(self, classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> None:
        super().__init__(estimator=classifier)
        k = classifier.nb_classes
        need = 3 if params["version"] == "rand" else MIN_CLASSES  # rand: untargeted DLR only
        if k < need:
            raise HarnessError(
                f"autoattack.implementation: 'reference' needs a model with >= {need} "
                f"classes (its targeted DLR loss), this one has {k}; expected implementation: art"
            )
        self.eps, self.params, self._targeted = eps, params, False
        self.parts = describe(params, k)
        self.broken_by = np.zeros(0, dtype=object)  # (N,) part names, set by generate

    def _attack(self, model: torch.nn.Module, dev: torch.device) -> Any:
        """The reference's AutoAttack object with the standard version and these budgets."""
        p, k = self.params, self.estimator.nb_classes
        aa = _load()(
            model, norm="Linf", eps=self.eps, seed=int(p["seed"]), verbose=False,
            version=p["version"], device=dev,
        )  # fmt: skip
        aa.apgd.n_iter = aa.apgd_targeted.n_iter = int(p["apgd_iter"])
        aa.fab.n_iter = int(p["fab_iter"])
        aa.square.n_queries = int(p["square_queries"])
        aa.apgd_targeted.n_target_classes = aa.fab.n_target_classes = n_targets(p, k)
        return aa

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        """x (N, C, H, W) in [0, 1], y (N,) true labels -> x_adv, a new float32 array."""
        if y is None:
            raise ValueError("ReferenceAutoAttack needs the true labels y")
        y = np.asarray(y)
        y = y.argmax(1) if y.ndim == 2 else y.astype(np.int64)
        model = self.estimator.model.eval()
        dev = device.of(model)
        with torch.random.fork_rng(devices=[dev] if dev.type == device.CUDA else []):
            x_adv, broken = self._run(model, dev, x, y)
        self.broken_by = broken
        version = self.params["version"]
        counts = tuple(int(np.sum(broken == name)) for name in part_names(version))
        attacked = int(np.sum(broken != "clean"))
        note(PartRun(self.params, self.eps, parts("reference", version), counts, attacked))
        return x_adv

    def _run(self, model, dev, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each reference part on the survivors; per sample the first breaker's example."""
        aa, bs = self._attack(model, dev), int(self.params["batch_size"])
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(dev)
        yt = torch.from_numpy(y).to(dev)
        alive = (_predict(model, xt, bs) == yt).cpu().numpy()
        broken = np.where(alive, "", "clean").astype(object)
        x_adv = x.astype(np.float32)  # a copy
        version = self.params["version"]
        for run, name in zip(RUNS[version], part_names(version), strict=True):
            idx = np.flatnonzero(alive)
            if len(idx) == 0:
                break
            aa.attacks_to_run = [run]
            out = aa.run_standard_evaluation(xt[idx], yt[idx], bs=bs)
            fooled = (_predict(model, out, bs) != yt[idx]).cpu().numpy()
            x_adv[idx[fooled]] = out[fooled].detach().cpu().numpy()
            broken[idx[fooled]], alive[idx[fooled]] = name, False
        return x_adv, broken


def _predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Predicted classes (N,) of x, in batches, without gradients."""
    with torch.no_grad():
        return torch.cat(
            [model(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]
        )
