"""The one owner of the device: a spec's request (``device:``) resolved to a ``torch.device``.

Everything else asks the model where it lives (``of(model)``) or asks here; no other module
names a device (``tests/test_device.py`` scans for literals). Requests (``harness.spec``):

- ``auto``: CUDA when torch sees a GPU, then Apple's MPS, then the CPU;
- ``cpu``, ``cuda`` (the current CUDA device), ``cuda:N``, ``mps``: that device, or one line
  saying it is not available here (``HarnessError``, exit 2).

Mixed precision (``amp: true``) is CUDA only: ``Autocast`` runs a model's forward passes under
``torch.autocast`` (float16) and hands float32 logits back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from harness.errors import HarnessError
from harness.spec.checks import GPU_KIND, HOST_KIND

HOST = torch.device(HOST_KIND)  # where numpy arrays live and checkpoints are read (map_location)
CUDA, MPS = GPU_KIND, "mps"  # torch.device types the resolver can pick besides the host's


def resolve(request: str = "auto", where: str = "device") -> torch.device:
    """The device a run uses for ``request`` (auto | cpu | cuda | cuda:N | mps).

    An unavailable device is a ``HarnessError`` naming ``where``, the request and what this
    machine has; the syntax itself is checked by the spec (``harness.spec.checks.device``).
    """
    if request == "auto":
        return torch.device(CUDA) if _cuda() else torch.device(MPS) if _mps() else HOST
    dev = torch.device(request)
    if dev.type == CUDA:
        count = torch.cuda.device_count() if _cuda() else 0
        if (dev.index is not None and dev.index >= count) or count == 0:
            raise HarnessError(f"{where}: {request!r} is not available here ({available()})")
        return torch.device(CUDA, torch.cuda.current_device() if dev.index is None else dev.index)
    if dev.type == MPS and not _mps():
        raise HarnessError(f"{where}: {request!r} is not available here ({available()})")
    return dev


def available() -> str:
    """What this machine offers, for error messages: e.g. "cpu only" or "cuda:0, cuda:1, cpu"."""
    found = [f"{CUDA}:{i}" for i in range(torch.cuda.device_count())] if _cuda() else []
    found += [MPS] if _mps() else []
    return ", ".join([*found, HOST.type]) if found else f"{HOST.type} only"


def _cuda() -> bool:
    return torch.cuda.is_available()


def _mps() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def check_amp(amp: bool, dev: torch.device, where: str = "amp") -> None:
    """``amp: true`` needs CUDA: anywhere else it is refused in one line."""
    if amp and dev.type != CUDA:
        raise HarnessError(f"{where}: mixed precision needs a CUDA device; this run uses {dev}")


def of(model: nn.Module) -> torch.device:
    """Where ``model`` lives: its first parameter's (or buffer's) device; the host for a model
    with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return HOST


def is_accelerator(dev: torch.device) -> bool:
    return dev.type != HOST.type


def release(dev: torch.device) -> None:
    """Hand cached accelerator memory back after an out-of-memory error (a no-op on the host)."""
    if dev.type == CUDA:
        torch.cuda.empty_cache()
    elif dev.type == MPS:
        torch.mps.empty_cache()


def deterministic(dev: torch.device) -> None:
    """cuDNN picks deterministic kernels and no benchmark autotuning on CUDA (same numbers on a
    rerun); nothing to set on the CPU."""
    if dev.type == CUDA:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def describe(dev: torch.device, amp: bool = False) -> dict[str, Any]:
    """run.json's ``device``: what ran, the CUDA/cuDNN versions and the determinism settings."""
    cuda = dev.type == CUDA
    return {
        "device": str(dev),
        "name": torch.cuda.get_device_name(dev) if cuda else dev.type,
        "amp": bool(amp),
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    }


# ---------------------------------------------------------------- ART estimators


def art_type(dev: torch.device) -> str:
    """ART's ``device_type``: "gpu" for CUDA, else "cpu" (ART knows no other)."""
    return "gpu" if dev.type == CUDA else HOST.type


@contextlib.contextmanager
def art_context(dev: torch.device) -> Iterator[None]:
    """Build an ART estimator inside this: ART 1.20 puts a "gpu" estimator on
    ``torch.cuda.current_device()`` (art/estimators/pytorch.py), so the CUDA index is made
    current for the construction only."""
    with torch.cuda.device(dev) if dev.type == CUDA else contextlib.nullcontext():
        yield


def pin(estimator: Any, dev: torch.device) -> Any:
    """An ART estimator (and its preprocessing) on ``dev`` when ART could not choose it (MPS:
    ART's "cpu" would run the model on the host); a no-op for CPU and CUDA."""
    if estimator.device != dev:
        estimator._device = dev  # ART reads ``_device`` for every tensor it makes
        estimator.model.to(dev)
        for op in estimator.preprocessing_operations:
            if hasattr(op, "_device"):
                op._device = dev
    return estimator


# ---------------------------------------------------------------- mixed precision


class Autocast(nn.Module):
    """``inner`` run under ``torch.autocast`` (float16) on its CUDA device; float32 logits out.

    Used for evaluation only (``amp: true``): training and the weights cache stay float32.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, dtype=torch.float16):
            return self.inner(x).float()


def autocast(model: nn.Module, amp: bool) -> nn.Module:
    """``model`` under ``Autocast`` when ``amp``, else itself."""
    return Autocast(model) if amp else model


def generator_states() -> dict[str, Any]:
    """The accelerators' global generator states, by kind, for those in use (an epoch
    checkpoint keeps them beside torch's own)."""
    state: dict[str, Any] = {}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if torch.backends.mps.is_available():
        state["mps"] = torch.mps.get_rng_state()
    return state


def set_generator_states(state: dict[str, Any]) -> None:
    """Restore what ``generator_states`` recorded (kinds absent here are left alone)."""
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "mps" in state and torch.backends.mps.is_available():
        torch.mps.set_rng_state(state["mps"])
