"""The noise-and-spectra study's spectrally normalized variant of any registered architecture.

Every Conv2d and Linear of the network gets PyTorch's spectral-norm parametrization (Miyato et
al. 2018): its weight, reshaped to a matrix, is divided by its largest singular value, estimated
by power iteration during training. The model is then trained exactly like the baseline. The
report's weight analysis gives the per-layer spectral norms and the true conv operator norms
(which the reshaped-matrix normalization bounds only loosely).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.defences.base import HardenJob, defence
from harness.params import ints
from harness.results import EpochStats

if TYPE_CHECKING:
    from torch import nn


def normalized(job: HardenJob) -> nn.Module:
    """A fresh classifier with every Conv2d and Linear spectrally normalized."""
    from torch import nn
    from torch.nn.utils.parametrizations import spectral_norm as parametrize

    model = job.fresh()
    targets = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    for module in targets:
        parametrize(module, n_power_iterations=job.params["power_iterations"])
    return model


@defence(
    "spectral_norm",
    defaults={"power_iterations": 1},
    check=ints(power_iterations=1),
    module=normalized,
)
def spectral_norm(job: HardenJob, model: nn.Module) -> list[EpochStats]:
    """Spectral normalization of every conv and linear layer (Miyato et al. 2018; as the noise-and-spectra study).

    The spec's architecture with each weight divided by its spectral norm (``power_iterations``
    of power iteration per training step), trained like the baseline (Adam, cross-entropy).
    """
    from harness.training import train_standard

    return train_standard(model, job.data, job.train, job.seed, job.snapshot, "spectral norm")
