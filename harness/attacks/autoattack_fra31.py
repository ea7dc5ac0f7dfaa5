"""fra31/auto-attack's own code run part by part on the harness's model (``implementation:
reference``); see ``harness.attacks.autoattack_reference`` for what differs and why. Imported
when such an attack is built, so that declaring and validating it imports no torch or ART.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import torch
from art.attacks.attack import EvasionAttack
from art.estimators.classification import PyTorchClassifier

from harness import device
from harness.attacks import autoattack_reference as reference
from harness.attacks.autoattack_parts import PartRun, n_targets, note, part_names, parts
from harness.errors import HarnessError


def _load() -> type:
    """The reference's ``AutoAttack`` class, after restoring what its import needs."""
    reference.require("autoattack.implementation")
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
    """The reference's AutoAttack (its version, in ``norm``) on the harness's model, part by part."""

    _estimator_requirements = ()

    def __init__(
        self, classifier: PyTorchClassifier, eps: float, params: dict[str, Any], norm: str = "linf"
    ) -> None:
        super().__init__(estimator=classifier)
        k = classifier.nb_classes
        need = (
            3 if params["version"] == "rand" else reference.MIN_CLASSES
        )  # rand: untargeted DLR only
        if k < need:
            raise HarnessError(
                f"autoattack.implementation: 'reference' needs a model with >= {need} "
                f"classes (its targeted DLR loss), this one has {k}; expected implementation: art"
            )
        self.eps, self.params, self.norm, self._targeted = eps, params, norm, False
        self.parts = reference.describe(params, k)
        self.broken_by = np.zeros(0, dtype=object)  # (N,) part names, set by generate

    def _attack(self, model: torch.nn.Module, dev: torch.device) -> Any:
        """The reference's AutoAttack object with this version, norm and these budgets."""
        p, k = self.params, self.estimator.nb_classes
        aa = _load()(
            model, norm=reference.NORMS[self.norm], eps=self.eps, seed=int(p["seed"]), verbose=False,
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
        for run, name in zip(reference.RUNS[version], part_names(version), strict=True):
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
