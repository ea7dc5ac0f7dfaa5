"""Models people already have, read offline from a zoo's own files (``model.zoo``).

Each zoo is one module registering what it provides (``harness.zoo.base.Zoo``): torchvision,
timm and RobustBench's file layout. A zoo model is the zoo's network with the user's checkpoint,
behind the zoo's own normalization and, when the data's images have another size, a resize to
the size the network was trained at; both are layers of the model, so it takes the data's
[0, 1] pixels and every epsilon stays in pixel units. It is evaluated as given, in eval mode,
and never trained. Nothing is downloaded: a missing or wrong file is one line naming it.
"""

from __future__ import annotations

import importlib.util
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.architectures import Shape
from harness.errors import HarnessError, did_you_mean
from harness.spec import DefenceSpec, ModelSpec, Spec
from harness.userfiles import not_regular
from harness.weight_files import refuse_non_checkpoint
from harness.zoo import robustbench, timm, torchvision  # noqa: F401 (each registers its zoo)
from harness.zoo.base import ZOOS, Preprocess, Zoo, text

if TYPE_CHECKING:
    from torch import nn

logger = logging.getLogger(__name__)

# Fields some zoos read and others do not: a zoo that does not read one refuses it
OWN_FIELDS = ("weights", "checkpoint", "dataset", "threat_model", "model_dir")
MAX_LISTED = 12  # names an unknown-name error lists before it only counts them


@dataclass
class ZooModel:
    """A zoo model ready to evaluate, and what the run records about it."""

    model: nn.Module  # Normalize -> [Resize] -> the zoo's network; [0, 1] pixels in, logits out
    label: str  # "torchvision:resnet50"
    path: Path  # the checkpoint read
    sha256: str  # of that file
    how: str  # the file, "not trained", and the normalization and input size used
    field: str = "model.weights"  # the spec field that locates the checkpoint


def validate(model: ModelSpec) -> Zoo:
    """What can be checked before any data is read: the zoo, its package, the model's name,
    the fields it reads and its checkpoint file (there, and no web page)."""
    zoo = ZOOS.get(model.zoo or "", "model.zoo")
    _check_fields(zoo, model)
    if zoo.package and importlib.util.find_spec(zoo.package) is None:
        raise HarnessError(
            f"model.zoo: {zoo.name} models need the {zoo.package} package: "
            f"pip install 'robustness-harness[{zoo.extra}]'"
        )
    _check_name(zoo, model)
    _check_file(zoo, model)
    return zoo


def _check_fields(zoo: Zoo, model: ModelSpec) -> None:
    for name in OWN_FIELDS:
        if getattr(model, name) is not None and name not in zoo.fields:
            raise HarnessError(
                f"model.{name}: the {zoo.name} zoo does not read it (it reads "
                f"{', '.join(zoo.fields)}); leave it out"
            )
    for name, allowed in zoo.choices.items():
        value = getattr(model, name)
        if value is not None and value not in allowed:
            raise HarnessError(
                f"model.{name}: expected one of {', '.join(allowed)}, got {value!r}"
                + did_you_mean(value, allowed)
            )


def _check_name(zoo: Zoo, model: ModelSpec) -> None:
    names = zoo.known(model)
    if model.name in names:
        return
    listed = ", ".join(names) if len(names) <= MAX_LISTED else f"the {len(names)} it lists"
    within = (
        f" for {model.dataset or 'cifar10'}/{model.threat_model or 'Linf'}" if zoo.choices else ""
    )
    raise HarnessError(
        f"model.name: {model.name!r} is not a {zoo.name} model{within}; expected one of "
        f"{listed or 'none'}{did_you_mean(model.name, names)}"
    )


def _check_file(zoo: Zoo, model: ModelSpec) -> Path:
    path = zoo.file(model)
    if path is None:
        raise HarnessError(
            f"{zoo.file_field}: expected the path of the {model.name} checkpoint "
            "(nothing is downloaded at run time)"
        )
    if not path.is_file():
        what = not_regular(path)
        layout = f" ({zoo.layout})" if zoo.layout else ""
        raise HarnessError(
            f"{zoo.file_field}: expected the {zoo.name} checkpoint of {model.name} at {path}"
            f"{layout}, which {what or 'does not exist'}; "
            "nothing is downloaded at run time"
        )
    refuse_non_checkpoint(path, zoo.file_field)
    return path


def load(model: ModelSpec, input_shape: Shape, num_classes: int) -> ZooModel:
    """The zoo model with its checkpoint, in eval mode, taking the data's (C, H, W) pixels."""
    from harness import checkpoints

    zoo = validate(model)
    fixed = zoo.classes(model)
    if fixed is not None and fixed != num_classes:
        raise HarnessError(
            f"model.name: {zoo.name} {model.name} gives {fixed} classes, the dataset has "
            f"{num_classes}"
        )
    net = _build(zoo, model, num_classes)
    pre = _preprocess(zoo, model, net, input_shape)
    path = _check_file(zoo, model)
    checkpoints.load_checkpoint(net, path, zoo.file_field, f"{zoo.name} {model.name}")
    how = _how(zoo, path, pre, input_shape)
    if pre.size != tuple(input_shape[1:]) and not model.input_size:
        h, w = input_shape[1:]
        logger.warning(
            "%s %s takes %dx%d images: the data's %dx%d are resized to that inside the model, "
            "which costs %.0fx the pixels; for a network trained at %dx%d set model.input_size: %d",
            zoo.name, model.name, *pre.size, h, w, pre.size[0] * pre.size[1] / (h * w), h, w, h,
        )  # fmt: skip
    wrapped = _assemble(net, pre, input_shape).eval()
    label, sha = f"{zoo.name}:{model.name}", checkpoints.sha256(path)
    return ZooModel(wrapped, label, path, sha, how, zoo.file_field)


def _assemble(net: nn.Module, pre: Preprocess, input_shape: Shape) -> nn.Sequential:
    """Normalize -> Resize (only when the data's size is not the network's) -> net."""
    from torch import nn

    from harness.normalize import Normalize
    from harness.zoo.resize import Resize

    layers: OrderedDict[str, nn.Module] = OrderedDict(
        normalize=Normalize(pre.mean, pre.std, pre.channels)
    )
    if pre.size != tuple(input_shape[1:]):
        layers["resize"] = Resize(pre.size)
    layers["net"] = net
    return nn.Sequential(layers)


def _build(zoo: Zoo, model: ModelSpec, num_classes: int) -> nn.Module:
    try:
        return zoo.build(model, num_classes)
    except HarnessError:
        raise
    except Exception as exc:  # the zoo's own code: anything can happen
        text_ = " ".join(str(exc).split())[:200]
        raise HarnessError(
            f"model.name: {zoo.name} could not build {model.name} with {num_classes} classes "
            f"({type(exc).__name__}: {text_})"
        ) from None


def _preprocess(zoo: Zoo, model: ModelSpec, net: nn.Module, input_shape: Shape) -> Preprocess:
    """The zoo's normalization and size, less what the spec overrides (mean/std, input_size)."""
    pre = zoo.preprocess(model, net)
    if input_shape[0] != pre.channels:
        raise HarnessError(
            f"model.name: {zoo.name} {model.name} takes {pre.channels}-channel images, the "
            f"dataset gives {input_shape[0]}"
        )
    size = (model.input_size, model.input_size) if model.input_size else pre.size
    return Preprocess(model.mean or pre.mean, model.std or pre.std, size, pre.channels)


def _how(zoo: Zoo, path: Path, pre: Preprocess, input_shape: Shape) -> str:
    """What the run records (run.json, report): the file, no training, the preprocessing."""
    h, w = input_shape[1:]
    size = (
        f"{h}x{w} as given"
        if (h, w) == pre.size
        else f"{h}x{w} resized to {pre.size[0]}x{pre.size[1]} (bilinear)"
    )
    return (
        f"{zoo.name} zoo, loaded {path}, not trained; inside the model: mean {text(pre.mean)}, "
        f"std {text(pre.std)}, input {size}"
    )


def refuse_training(spec: Spec, definition: Any, d: DefenceSpec, where: str) -> None:
    """A defence that trains a fresh network of the baseline's architecture cannot for a zoo
    model (the harness trains registered architectures and builders, not zoo networks)."""
    if spec.model.zoo and definition.trains and not definition.wraps_baseline and not d.arch:
        raise HarnessError(
            f"{where}: {d.name} trains a new network of the baseline's architecture, which a "
            f"zoo model (model.zoo: {spec.model.zoo}) is not; use 'defence: null', a defence "
            "in front of the baseline, or give this defence its own 'arch'"
        )


__all__ = ["OWN_FIELDS", "ZOOS", "Resize", "Zoo", "ZooModel", "load", "refuse_training", "validate"]
