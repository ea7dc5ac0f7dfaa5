"""timm's models: ``model: {zoo: timm, name: resnet50.a1_in1k, checkpoint: PATH}`` (extra ``timm``).

The network is ``timm.create_model(name, pretrained=False)`` (never ``pretrained=True``, which
downloads); the weights are the user's checkpoint: a state dict, a timm training checkpoint
(``{"state_dict": ..., "args": ...}``) or a ``.safetensors`` file from the Hugging Face cache.
Normalization and input size come from the model's pretrained config, which timm knows offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.spec import ModelSpec
from harness.zoo.base import ZOOS, Preprocess, Zoo

if TYPE_CHECKING:
    from torch import nn


def _known(spec: ModelSpec) -> list[str]:
    import timm

    # a name with a pretrained tag (resnet50.a1_in1k) selects that tag's preprocessing
    name = spec.name or ""
    return [name] if timm.is_model(name) else timm.list_models()


def _build(spec: ModelSpec, num_classes: int) -> nn.Module:
    import timm

    return timm.create_model(spec.name, pretrained=False, num_classes=num_classes)


def _preprocess(spec: ModelSpec, net: nn.Module) -> Preprocess:
    cfg = getattr(net, "pretrained_cfg", None) or {}
    _, h, w = cfg.get("input_size", (3, 224, 224))
    return Preprocess(tuple(cfg.get("mean", (0.5,))), tuple(cfg.get("std", (0.5,))), (h, w))


ZOOS.register("timm")(
    Zoo(
        name="timm",
        package="timm",
        extra="timm",
        file_field="model.checkpoint",
        fields=("checkpoint",),
        known=_known,
        file=lambda spec: Path(spec.checkpoint) if spec.checkpoint else None,
        build=_build,
        preprocess=_preprocess,
        description="timm (PyTorch Image Models); checkpoint: a state_dict or .safetensors file",
    )
)
