"""Registered model architectures, each declaring its input shape, classes and normalization.

A builder returns a network that maps *normalized* inputs to logits; ``wrap`` puts the
architecture's ``Normalize`` layer in front, so the wrapped model takes [0, 1] pixels and every
epsilon stays in pixel units (normalization never happens in a loader).

Registering and listing architectures imports no torch (``harness list models``, ``harness
validate``): each builder imports ``torch.nn`` when it is called.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import HarnessError
from harness.registry import Registry

if TYPE_CHECKING:
    from torch import nn

Shape = tuple[int, int, int]  # (C, H, W)
Builder = Callable[[Shape, int], "nn.Module"]  # (input_shape, num_classes) -> logits network


@dataclass(frozen=True)
class Architecture:
    name: str
    build: Builder
    mean: tuple[float, ...]  # per channel, or one value broadcast to every channel
    std: tuple[float, ...]
    input_shape: tuple[int | None, int | None, int | None]  # None: any size on that axis
    description: str = ""

    def check_input(self, shape: Shape, field: str = "model.arch") -> None:
        """Raise a one-line error when the data's (C, H, W) does not fit this architecture."""
        if any(
            want is not None and want != got
            for want, got in zip(self.input_shape, shape, strict=True)
        ):
            want = "x".join("*" if s is None else str(s) for s in self.input_shape)
            raise HarnessError(
                f"{field}: {self.name} expects inputs of shape {want} (C x H x W), "
                f"the dataset gives {'x'.join(map(str, shape))}"
            )


ARCHITECTURES: Registry[Architecture] = Registry("architecture")


def architecture(
    name: str,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    input_shape: tuple[int | None, int | None, int | None] = (None, None, None),
) -> Callable[[Builder], Builder]:
    """Decorator registering a builder with its declared normalization and input shape."""

    def decorate(fn: Builder) -> Builder:
        doc = (fn.__doc__ or "").strip().splitlines()
        arch = Architecture(name, fn, tuple(mean), tuple(std), input_shape, doc[0] if doc else "")
        ARCHITECTURES.register(name)(arch)
        return fn

    return decorate


def wrap(net: nn.Module, mean: Sequence[float], std: Sequence[float], channels: int) -> nn.Module:
    """The model the harness trains and attacks: Normalize -> net, [0, 1] pixels in, logits out
    (``harness.normalize``, imported here on use: registering architectures needs no torch)."""
    from harness import normalize

    return normalize.wrap(net, mean, std, channels)


# ---------------------------------------------------------------- built-in architectures


def _conv_block(c_in: int, c_out: int, batchnorm: bool) -> list[nn.Module]:
    from torch import nn

    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(c_out))
    return [*layers, nn.ReLU(inplace=False), nn.MaxPool2d(2)]


def _seed000_cnn(input_shape: Shape, num_classes: int, batchnorm: bool) -> nn.Module:
    from torch import nn

    c, h, w = input_shape
    convs = [*_conv_block(c, 32, batchnorm), *_conv_block(32, 64, batchnorm)]
    convs += _conv_block(64, 128, batchnorm)
    flat = 128 * (h // 8) * (w // 8)  # 3 max-pools halve H and W: 32x32 -> 4x4, 2048 features
    head = [nn.Flatten(), nn.Linear(flat, 256), nn.ReLU(), nn.Dropout(0.5)]
    return nn.Sequential(
        OrderedDict(
            features=nn.Sequential(*convs),
            classifier=nn.Sequential(*head, nn.Linear(256, num_classes)),
        )
    )


@architecture("spatial_baseline_cnn", mean=(0.5,), std=(0.5,), input_shape=(3, 32, 32))
def spatial_baseline_cnn(input_shape: Shape, num_classes: int) -> nn.Module:
    """Seed 000's CIFAKE detector: 3x [Conv3x3 + BatchNorm + ReLU + MaxPool] (3->32->64->128), FC 2048->256->classes, dropout 0.5."""
    return _seed000_cnn(input_shape, num_classes, batchnorm=True)


@architecture("robust_cnn", mean=(0.5,), std=(0.5,), input_shape=(3, 32, 32))
def robust_cnn(input_shape: Shape, num_classes: int) -> nn.Module:
    """Seed 000's hardened variant: the same convolutions without BatchNorm, dropout in the head."""
    return _seed000_cnn(input_shape, num_classes, batchnorm=False)


@architecture("small_cnn", mean=(0.5,), std=(0.5,))
def small_cnn(input_shape: Shape, num_classes: int) -> nn.Module:
    """Small CNN for 8x8 digits up to 28x28 MNIST-like inputs: 2 conv blocks, adaptive pool, FC 256->128->classes."""
    from torch import nn

    c = input_shape[0]
    features = nn.Sequential(
        nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(2),  # 8x8 -> 2x2 already; 28x28 -> 7x7 -> 2x2
    )  # fmt: skip
    head = nn.Sequential(
        nn.Flatten(), nn.Linear(64 * 4, 128), nn.ReLU(), nn.Linear(128, num_classes)
    )
    return nn.Sequential(OrderedDict(features=features, classifier=head))


@architecture("wong_mnist_cnn", mean=(0.0,), std=(1.0,), input_shape=(1, 28, 28))
def wong_mnist_cnn(input_shape: Shape, num_classes: int) -> nn.Module:
    """Wong et al. 2020's MNIST model: Conv4x4/2 1->16, Conv4x4/2 16->32, FC 32*7*7->100->classes, ReLUs; raw [0, 1] inputs."""
    from torch import nn

    c, h, w = input_shape
    features = nn.Sequential(
        nn.Conv2d(c, 16, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(),
    )  # fmt: skip
    head = nn.Sequential(
        nn.Flatten(),
        nn.Linear(32 * (h // 4) * (w // 4), 100),
        nn.ReLU(),
        nn.Linear(100, num_classes),
    )
    return nn.Sequential(OrderedDict(features=features, classifier=head))


@architecture("mlp", mean=(0.5,), std=(0.5,))
def mlp(input_shape: Shape, num_classes: int) -> nn.Module:
    """Fully connected baseline for any input size: flatten, FC 256, FC 128, ReLUs (no conv: no Grad-CAM)."""
    from torch import nn

    c, h, w = input_shape
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(c * h * w, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )


@architecture("mnist_cnn", mean=(0.1307,), std=(0.3081,), input_shape=(1, 28, 28))
def mnist_cnn(input_shape: Shape, num_classes: int) -> nn.Module:
    """Compact MNIST/Fashion-MNIST CNN: 2x [Conv3x3 + ReLU + MaxPool] (1->32->64), dropout 0.25, FC 3136->128, dropout 0.5, FC 128->classes; MNIST mean/std."""
    from torch import nn

    # The two-block CNN of the PyTorch and Keras MNIST examples (about 99.2% on MNIST): the 7x7x64
    # map is flattened, every position kept (no global pooling); padding keeps 28 -> 14 -> 7.
    c, h, w = input_shape
    features = nn.Sequential(
        nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25),
    )  # fmt: skip
    head = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64 * (h // 4) * (w // 4), 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, num_classes),
    )
    return nn.Sequential(OrderedDict(features=features, classifier=head))


CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # per-channel statistics of the CIFAR-10 training set
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def _vgg_stage(c_in: int, c_out: int) -> list[nn.Module]:
    """Two Conv3x3 + BatchNorm + ReLU, then a 2x2 max-pool (halves H and W)."""
    from torch import nn

    layers: list[nn.Module] = []
    for c in (c_in, c_out):
        layers += [nn.Conv2d(c, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    return [*layers, nn.MaxPool2d(2)]


@architecture("cifar_vgg", mean=CIFAR10_MEAN, std=CIFAR10_STD, input_shape=(3, 32, 32))
def cifar_vgg(input_shape: Shape, num_classes: int) -> nn.Module:
    """Small VGG-style CIFAR-10 net: 3 stages of 2x [Conv3x3 + BatchNorm + ReLU] + MaxPool (32-64-128), FC 2048->256->classes, dropout 0.3."""
    from torch import nn

    # ~40M multiply-adds per image, about ResNet-20's cost; the 4x4x128 map is flattened, not
    # averaged, so the head keeps where a feature is.
    c, h, w = input_shape
    features = nn.Sequential(*_vgg_stage(c, 32), *_vgg_stage(32, 64), *_vgg_stage(64, 128))
    head = nn.Sequential(
        nn.Flatten(),
        nn.Linear(128 * (h // 8) * (w // 8), 256),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(256, num_classes),
    )
    return nn.Sequential(OrderedDict(features=features, classifier=head))


@architecture("cifar10_fast", mean=CIFAR10_MEAN, std=CIFAR10_STD, input_shape=(3, 32, 32))
def cifar10_fast(input_shape: Shape, num_classes: int) -> nn.Module:
    """Fast CIFAR-10 net (after airbench94): 2x2 patch whitening, 3 groups of 2x [Conv3x3 + BatchNorm + GELU] with max-pools (64-256-256), max-pool, linear head; pair with whiten: true."""
    from harness.cifar_fast import build  # torch on use: registering stays torch-free

    return build(input_shape, num_classes)
