"""Turn a model spec into a model: a registered architecture or the user's own builder.

Both paths end in the same wrapped model (``Normalize`` -> network), which is then trained,
loaded and attacked exactly alike.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from harness.architectures import ARCHITECTURES, Shape, wrap
from harness.errors import HarnessError
from harness.spec import ModelSpec


@dataclass(frozen=True)
class ModelRecipe:
    """Everything needed to (re)build a fresh model: its name, network builder and normalization."""

    name: str  # registered architecture name or the builder reference
    build_net: object  # (input_shape, num_classes) -> nn.Module, or a user function
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def make(self, input_shape: Shape, num_classes: int) -> nn.Module:
        """A freshly initialised wrapped model: [0, 1] pixels in, logits out."""
        net = _call_builder(self.build_net, input_shape, num_classes, self.name)
        return wrap(net, self.mean, self.std, input_shape[0])


def recipe(model: ModelSpec, arch: str | None = None, field: str = "model.arch") -> ModelRecipe:
    """The recipe for ``model`` (or for registered ``arch`` when given, e.g. a defence's)."""
    if arch is not None or model.builder is None:
        name = arch or model.arch or ""
        a = ARCHITECTURES.get(name, field)
        mean = model.mean if model.mean is not None and arch is None else a.mean
        std = model.std if model.std is not None and arch is None else a.std
        return ModelRecipe(name, a.build, mean, std)
    fn = load_builder(model.builder)
    # A user's network sees raw [0, 1] pixels unless the spec declares its mean/std.
    return ModelRecipe(model.builder, fn, model.mean or (0.0,), model.std or (1.0,))


def check_input(model: ModelSpec, input_shape: Shape, arch: str | None = None) -> None:
    """Fail early when the dataset's input shape does not fit a registered architecture."""
    name = arch or model.arch
    if name is not None and (arch is not None or model.builder is None):
        ARCHITECTURES.get(name, "defence.arch" if arch else "model.arch").check_input(
            input_shape, "defence.arch" if arch else "model.arch"
        )


def load_builder(ref: str) -> object:
    """Import ``path/to/file.py:function`` (the user's own file, named in their spec)."""
    path_text, _, func = ref.rpartition(":")
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise HarnessError(
            f"model.builder: {path} does not exist; expected 'path/to/file.py:function'"
        )
    module_name = f"harness_user_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise HarnessError(f"model.builder: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise HarnessError(
            f"model.builder: importing {path} failed ({type(exc).__name__}: {exc})"
        ) from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise HarnessError(f"model.builder: {path} has no function {func!r}")
    return fn


def _call_builder(fn: object, input_shape: Shape, num_classes: int, name: str) -> nn.Module:
    """Call a builder with the keyword arguments it accepts among input_shape and num_classes."""
    params = inspect.signature(fn).parameters  # type: ignore[arg-type]
    offered = {"input_shape": tuple(input_shape), "num_classes": num_classes}
    accepted = {k: v for k, v in offered.items() if k in params}
    if accepted or not params:
        net = fn(**accepted)  # type: ignore[operator]
    else:  # positional (shape, classes), whatever the user called them
        net = fn(tuple(input_shape), num_classes)  # type: ignore[operator]
    if not isinstance(net, nn.Module):
        raise HarnessError(
            f"model.builder: {name} returned {type(net).__name__}, expected an nn.Module"
        )
    return net
