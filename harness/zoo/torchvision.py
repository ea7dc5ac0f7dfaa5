"""torchvision's classification models: ``model: {zoo: torchvision, name: resnet50, weights: PATH}``.

The network is ``torchvision.models.get_model(name, weights=None)``; the weights are the user's
file (e.g. a copy of torchvision's own download, ``resnet50-0676ba61.pth``), never fetched. The
normalization and input size are those torchvision's default weights declare for the model
(ImageNet mean/std, 224 px for a ResNet-50), read from its metadata without downloading.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.spec import ModelSpec
from harness.zoo.base import ZOOS, Preprocess, Zoo

if TYPE_CHECKING:
    from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's ImageNet statistics
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_SIZE = 224  # pixels a side, torchvision's evaluation crop for most models


def _known(spec: ModelSpec) -> list[str]:
    from torchvision import models

    return models.list_models(module=models)  # classification models only


def _build(spec: ModelSpec, num_classes: int) -> nn.Module:
    from torchvision import models

    return models.get_model(spec.name, weights=None, num_classes=num_classes)


def _preprocess(spec: ModelSpec, net: nn.Module) -> Preprocess:
    """The evaluation transform of the model's default weights (metadata, nothing downloaded)."""
    from torchvision import models

    try:
        t = models.get_model_weights(spec.name).DEFAULT.transforms()
    except (ValueError, AttributeError):  # a model without published weights
        return Preprocess(IMAGENET_MEAN, IMAGENET_STD, (IMAGENET_SIZE, IMAGENET_SIZE))
    crop = t.crop_size[0]
    return Preprocess(tuple(t.mean), tuple(t.std), (crop, crop))


ZOOS.register("torchvision")(
    Zoo(
        name="torchvision",
        package="torchvision",
        extra="",  # torchvision is a requirement of the harness itself
        file_field="model.weights",
        fields=("weights",),
        known=_known,
        file=lambda spec: Path(spec.weights) if spec.weights else None,
        build=_build,
        preprocess=_preprocess,
        description="torchvision.models classifiers; weights: the state_dict file",
    )
)
