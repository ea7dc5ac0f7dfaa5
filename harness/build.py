"""Turn a model spec into a model: a registered architecture or the user's own builder.

Both paths end in the same wrapped model (``Normalize`` -> network), which is then trained,
loaded and attacked exactly alike. A recipe is resolved without torch (``harness validate``);
torch is imported when a model is built or run.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.architectures import ARCHITECTURES, Shape, wrap
from harness.errors import HarnessError
from harness.spec import ModelSpec
from harness.userfiles import check_regular

if TYPE_CHECKING:
    from torch import nn

BUILDER = "model.builder"


@dataclass(frozen=True)
class ModelRecipe:
    """Everything needed to (re)build a fresh model: its name, network builder and normalization."""

    name: str  # registered architecture name or the builder reference
    build_net: object  # (input_shape, num_classes) -> nn.Module, or a user function
    mean: tuple[float, ...]
    std: tuple[float, ...]
    field: str = "model.arch"  # the spec field that named it, for error messages

    def make(self, input_shape: Shape, num_classes: int) -> nn.Module:
        """A freshly initialised wrapped model: [0, 1] pixels in, logits out."""
        net = _call_builder(self, input_shape, num_classes)
        return wrap(net, self.mean, self.std, input_shape[0])

    def check(self, batch: np.ndarray, num_classes: int) -> None:
        """Build a throwaway model and run one real batch (N, C, H, W) in [0, 1] through it: a
        network that rejects the data's input or does not give one logit per class fails here,
        before any training. Consumes the torch RNG: callers reseed before building for real."""
        import torch

        model = self.make(tuple(batch.shape[1:]), num_classes).eval()
        shape = ", ".join(map(str, batch.shape[1:]))
        out = _forward(
            model,
            batch,
            lambda why: (
                f"{self.field}: {self.name} rejects a batch of shape "
                f"{tuple(batch.shape)} from the dataset ({why}); expected a network taking "
                f"(N, C, H, W) = (N, {shape})"
            ),
        )
        expected = (len(batch), num_classes)
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        if got != expected:
            raise HarnessError(
                f"{self.field}: {self.name} outputs {got} for a batch of shape "
                f"{tuple(batch.shape)}; expected a tensor of shape {expected}, one logit per class"
            )


def recipe(model: ModelSpec, arch: str | None = None, field: str = "model.arch") -> ModelRecipe:
    """The recipe for ``model`` (or for registered ``arch`` when given, e.g. a defence's)."""
    if arch is not None or model.builder is None:
        name = arch or model.arch or ""
        a = ARCHITECTURES.get(name, field)
        mean = model.mean if model.mean is not None and arch is None else a.mean
        std = model.std if model.std is not None and arch is None else a.std
        return ModelRecipe(name, a.build, mean, std, field)
    fn = load_builder(model.builder)
    # A user's network sees raw [0, 1] pixels unless the spec declares its mean/std.
    return ModelRecipe(model.builder, fn, model.mean or (0.0,), model.std or (1.0,), BUILDER)


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
    check_regular(path, "'path/to/file.py:function'", BUILDER)
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
    except (Exception, SystemExit) as exc:  # the user's module: anything can happen
        raise HarnessError(
            f"model.builder: importing {path} failed ({type(exc).__name__}: {exc})"
        ) from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise HarnessError(f"model.builder: {path} has no function {func!r}")
    return fn


def _call_builder(rec: ModelRecipe, input_shape: Shape, num_classes: int) -> nn.Module:
    """Call a builder with the keyword arguments it accepts among input_shape and num_classes;
    whatever it raises or a non-Module it returns is a one-line error naming it."""
    from torch import nn

    offered = {"input_shape": tuple(input_shape), "num_classes": num_classes}
    try:
        net = _invoke(rec.build_net, offered)
    except HarnessError:
        raise
    except (Exception, SystemExit) as exc:  # the user's code: anything can happen
        raise HarnessError(
            f"{rec.field}: {rec.name} raised {_short(exc)} when called with "
            f"input_shape={offered['input_shape']}, num_classes={num_classes}; "
            "expected it to return an nn.Module"
        ) from None
    if not isinstance(net, nn.Module):
        raise HarnessError(
            f"{rec.field}: {rec.name} returned {type(net).__name__}, expected an nn.Module"
        )
    return net


def _invoke(fn: object, offered: dict[str, object]) -> object:
    params = inspect.signature(fn).parameters  # type: ignore[arg-type]
    accepted = {k: v for k, v in offered.items() if k in params}
    if accepted or not params:
        return fn(**accepted)  # type: ignore[operator]
    return fn(*offered.values())  # positional (shape, classes), whatever the user called them


def check_outputs(model: nn.Module, batch: np.ndarray, field: str, what: str) -> None:
    """One real batch (N, C, H, W) in [0, 1] through a model that was read, not built here
    (a weights file, a zoo checkpoint, a given module), in eval mode: weights that are finite
    but broken (a negative BatchNorm running_var, weights near the float32 maximum) give
    NaN or inf logits, refused in one line before any work rather than reported as FAILs."""
    import torch

    was_training = model.training
    try:
        out = _forward(
            model.eval(),
            batch,
            lambda why: f"{field}: {what} rejects a batch of the test set ({why})",
        )
    finally:
        model.train(was_training)
    if isinstance(out, torch.Tensor) and not bool(torch.isfinite(out).all()):
        raise HarnessError(
            f"{field}: {what} gives non-finite outputs (NaN or inf) on a batch of the test set; "
            "expected finite logits (broken weights, e.g. a negative BatchNorm running_var or "
            "overflowing values?)"
        )


def _forward(model: nn.Module, batch: np.ndarray, failure: Callable[[str], str]) -> object:
    """``model(batch)`` without gradients, on the model's device; whatever the forward raises
    is one line, ``failure`` of the exception's short text."""
    import torch

    from harness import device

    x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device.of(model))
    try:
        with torch.no_grad():
            return model(x)
    except (Exception, SystemExit) as exc:  # the user's forward: anything can happen
        raise HarnessError(failure(_short(exc))) from None


def _short(exc: BaseException) -> str:
    """'Type: first line of the message', at most 200 characters."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__
