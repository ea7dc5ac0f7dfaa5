"""RobustBench's model zoo, read from its own file layout, without the robustbench package.

``model: {zoo: robustbench, name: Standard, dataset: cifar10, threat_model: Linf, model_dir: M}``
reads ``M/cifar10/Linf/Standard.pt``, the file ``robustbench.utils.load_model`` downloads and
reads. The package itself is not used: robustbench 1.1.1 pins ``timm==1.0.9`` (a downgrade of the
harness's ``timm`` extra) and downloads missing files. Each entry below is the architecture
RobustBench's ``model_zoo/cifar10.py`` declares for that name, with the normalization its model
class applies in ``forward`` (here the harness's ``Normalize`` layer instead, so the file's keys
fit strictly); RobustBench's leaderboard entries beyond these are not built here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.registry import Registry
from harness.spec import ModelSpec
from harness.zoo.base import ZOOS, Preprocess, Zoo

if TYPE_CHECKING:
    from torch import nn

DATASETS = {"cifar10": 10, "cifar100": 100, "imagenet": 1000}  # RobustBench's, with classes
THREAT_MODELS = ("Linf", "L2", "corruptions")
DEFAULT_DIR = "models"  # RobustBench's default model_dir ('./models')
CIFAR_SIZE = (32, 32)
RAW = ((0.0,), (1.0,))  # the network takes [0, 1] pixels as they are
CIFAR10_RICE = ((0.4914, 0.4822, 0.4465), (0.2471, 0.2435, 0.2616))  # Rice/Wong's mu, sigma


@dataclass(frozen=True)
class Entry:
    """One RobustBench model: where it is listed, its network, its input normalization."""

    listed: tuple[tuple[str, str], ...]  # (dataset, threat_model) tables it appears in
    build: Callable[[int], nn.Module]  # num_classes -> the bare network
    mean: tuple[float, ...] = RAW[0]
    std: tuple[float, ...] = RAW[1]
    size: tuple[int, int] = CIFAR_SIZE


ENTRIES: Registry[Entry] = Registry("RobustBench model")


def _wrn(depth: int, widen: int, sub_block1: bool = False) -> Callable[[int], nn.Module]:
    def build(k: int) -> nn.Module:
        from harness.zoo.cifar_nets import WideResNet  # on use: listing the zoo needs no torch

        return WideResNet(depth, widen, k, sub_block1)

    return build


def _preact18(k: int) -> nn.Module:
    from harness.zoo.cifar_nets import PreActResNet

    return PreActResNet((2, 2, 2, 2), k)


_LINF = (("cifar10", "Linf"),)
for _name, _entry in {
    # WRN-28-10, raw pixels, trained without an adversary; listed in every CIFAR-10 table
    "Standard": Entry(
        (("cifar10", "Linf"), ("cifar10", "L2"), ("cifar10", "corruptions")), _wrn(28, 10)
    ),
    "Carmon2019Unlabeled": Entry(_LINF, _wrn(28, 10, sub_block1=True)),
    "Sehwag2020Hydra": Entry(_LINF, _wrn(28, 10, sub_block1=True)),
    "Wang2020Improving": Entry(_LINF, _wrn(28, 10, sub_block1=True)),
    "Zhang2019Theoretically": Entry(_LINF, _wrn(34, 10, sub_block1=True)),  # TRADES
    "Huang2020Self": Entry(_LINF, _wrn(34, 10, sub_block1=True)),
    "Hendrycks2019Using": Entry(_LINF, _wrn(28, 10), (0.5,), (0.5,)),  # forward: 2x - 1
    "Rice2020Overfitting": Entry(_LINF, _wrn(34, 20), *CIFAR10_RICE),
    "Wong2020Fast": Entry(_LINF, _preact18, *CIFAR10_RICE),
}.items():
    ENTRIES.register(_name)(_entry)


def _dataset(spec: ModelSpec) -> str:
    return spec.dataset or "cifar10"


def _threat(spec: ModelSpec) -> str:
    return spec.threat_model or "Linf"


def _known(spec: ModelSpec) -> list[str]:
    """The entries listed for the spec's dataset and threat model."""
    where = (_dataset(spec), _threat(spec))
    return [n for n in ENTRIES.names() if where in ENTRIES.get(n).listed]


def path(spec: ModelSpec) -> Path:
    """RobustBench's layout: ``<model_dir>/<dataset>/<threat_model>/<name>.pt``."""
    root = Path(spec.model_dir or DEFAULT_DIR)
    return root / _dataset(spec) / _threat(spec) / f"{spec.name}.pt"


def _build(spec: ModelSpec, num_classes: int) -> nn.Module:
    return ENTRIES.get(spec.name or "", "model.name").build(num_classes)


def _preprocess(spec: ModelSpec, net: nn.Module) -> Preprocess:
    e = ENTRIES.get(spec.name or "", "model.name")
    return Preprocess(e.mean, e.std, e.size)


ZOOS.register("robustbench")(
    Zoo(
        name="robustbench",
        package="",  # the architectures are the harness's own (cifar_nets)
        extra="",
        file_field="model.model_dir",
        fields=("dataset", "threat_model", "model_dir"),
        known=_known,
        file=path,
        build=_build,
        preprocess=_preprocess,
        classes=lambda spec: DATASETS.get(_dataset(spec)),
        choices={"dataset": tuple(DATASETS), "threat_model": THREAT_MODELS},
        layout="RobustBench's layout <model_dir>/<dataset>/<threat_model>/<name>.pt",
        description="RobustBench's CIFAR-10 models, read from its own file layout",
    )
)
