"""What a model zoo declares (the layer that fits the data's images to a zoo network is
``harness.zoo.resize``).

A zoo (torchvision, timm, RobustBench) is one small module registering a ``Zoo``: the package it
needs and the extra that installs it, the spec fields it reads, where a model's checkpoint is
expected, the model's own preprocessing and a builder of the bare network with random weights.
Nothing here downloads: the checkpoint is always a file the user already has. Declaring a zoo
imports no torch: its builders import it when they are called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.registry import Registry
from harness.spec import ModelSpec

if TYPE_CHECKING:
    from torch import nn

Size = tuple[int, int]  # (H, W) pixels


@dataclass(frozen=True)
class Preprocess:
    """A zoo network's input: per-channel mean/std on [0, 1] pixels and the size it was trained at."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    size: Size
    channels: int = 3


@dataclass(frozen=True)
class Zoo:
    """A source of pretrained models, read offline; selected by ``model.zoo``."""

    name: str
    package: str  # the module it needs ("" for none beyond the harness's own requirements)
    extra: str  # the optional extra that installs it: pip install 'robustness-harness[extra]'
    file_field: str  # the spec field that locates the checkpoint, for error messages
    fields: tuple[str, ...]  # the model-section fields it reads, besides zoo/name/mean/std/size
    known: Callable[[ModelSpec], list[str]]  # the model names it can build for this spec
    file: Callable[[ModelSpec], Path | None]  # where the checkpoint is expected (None: not given)
    build: Callable[[ModelSpec, int], nn.Module]  # the bare network, random weights (classes)
    preprocess: Callable[[ModelSpec, nn.Module], Preprocess]  # the network's own normalization
    classes: Callable[[ModelSpec], int | None] = lambda spec: None  # fixed by the zoo, or None
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a field's vocabulary
    layout: str = ""  # how the zoo lays out its files, for the missing-file error
    description: str = ""


ZOOS: Registry[Zoo] = Registry("zoo")


def text(values: tuple[float, ...]) -> str:
    """A mean/std as the record shows it: ``(0.485, 0.456, 0.406)``."""
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"
