"""The purifier study's defence: an autoencoder (or VAE) trained on clean images, placed before the baseline.

The purifier maps an input to its reconstruction; small adversarial perturbations are meant to
be projected back onto the clean-image manifold before the classifier sees them. The harness
reports it twice (``DefenceDef.wraps_baseline``): attacked by a naive attacker who crafts on the
baseline alone, and attacked through the whole pipeline, with gradients through the autoencoder.
The network is ``harness.defences.autoencoder``; torch is imported when it is built or trained.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from harness.defences.base import HardenJob, defence
from harness.errors import HarnessError
from harness.params import all_of, expect, ints, numbers
from harness.results import EpochStats

if TYPE_CHECKING:
    from torch import nn

KINDS = ("ae", "vae")


def purified(purifier: nn.Module, classifier: nn.Module) -> nn.Module:
    """The defended model: the purifier's reconstruction goes into the classifier."""
    from torch import nn

    return nn.Sequential(OrderedDict(purifier=purifier, classifier=classifier))


def _make(job: HardenJob) -> nn.Module:
    c, h, w = job.input_shape
    if h % 4 or w % 4:
        raise HarnessError(
            f"defence {job.spec.key!r}: the purifier needs height and width divisible by 4, got {h}x{w}"
        )
    from harness.defences.autoencoder import ConvAutoencoder

    p = job.params
    return ConvAutoencoder(c, p["width"], p["latent"], variational=p["kind"] == "vae")


def _assemble(job: HardenJob, module: nn.Module | None) -> nn.Module:
    assert module is not None and job.baseline is not None
    return purified(module, job.baseline)


def _kind(params: dict[str, Any], where: str) -> None:
    expect(params["kind"] in KINDS, where, "kind", params["kind"], " or ".join(KINDS))


@defence(
    "purifier",
    defaults={"kind": "ae", "width": 32, "latent": 16, "noise": 0.1, "beta": 0.1},
    check=all_of(_kind, ints(width=1, latent=1), numbers(noise=0, beta=0)),
    module=_make,
    assemble=_assemble,
    wraps_baseline=True,
)
def purifier(job: HardenJob, ae: nn.Module) -> list[EpochStats]:
    """Autoencoder purifier in front of the baseline (after the purifier study); ``kind`` ae or vae.

    Trained on clean training images only (denoising: inputs get Gaussian noise of std ``noise``,
    clipped to [0, 1], the target is the clean image), MSE reconstruction loss (+ ``beta`` x KL
    for the VAE), Adam with the training spec's lr. ``width``/``latent``: channels of the
    encoder and of the H/4 x W/4 latent map. The table measures the baseline through it.
    """
    import torch
    from torch import nn

    from harness import device
    from harness.training import run_epochs

    assert job.baseline is not None
    p, train = job.params, job.train
    optimizer = torch.optim.Adam(ae.parameters(), lr=train.lr)
    generator = torch.Generator().manual_seed(job.seed)
    x, dev = torch.from_numpy(job.data.x_train), device.of(ae)

    def fit_epoch(epoch: int) -> None:
        ae.train()
        order = torch.randperm(len(x), generator=generator)
        batches = range(0, len(x), train.batch_size)
        for i in batches:
            clean = x[order[i : i + train.batch_size]]
            noisy = (clean + p["noise"] * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
            clean, noisy = clean.to(dev), noisy.to(dev)  # noise drawn on the host: same everywhere
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(ae(noisy), clean, reduction="sum") / len(clean)
            if ae.variational:
                loss = loss + p["beta"] * ae.kl
            loss.backward()
            optimizer.step()

    pipeline = purified(ae, job.baseline)
    state = {"optimizer": optimizer, "order": generator}
    return run_epochs(
        ae, job.data, train.epochs, fit_epoch, "purifier", job.snapshot, pipeline, state=state
    )
