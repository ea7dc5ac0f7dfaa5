"""Model weights on disk: atomic saves with a metadata file, safe loads (``weights_only=True``).

Every save records the file's SHA-256 in its metadata (``path.with_suffix('.json')``). A load
checks it when it is there, and refuses weights holding NaN or inf: a cached file that fails is
retrained by the caller (``cached_state``), a given one (``model.weights``) is a one-line error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness import device
from harness.errors import HarnessError
from harness.io import atomic_path, write_text
from harness.userfiles import check_regular
from harness.weight_files import SAFETENSORS, not_a_checkpoint, refuse_non_checkpoint

__all__ = ["not_a_checkpoint", "refuse_non_checkpoint"]  # also here: what a file plainly is

logger = logging.getLogger(__name__)

HASH_KEY = "sha256"  # metadata key of the weights file's SHA-256 (hex)
CHUNK = 1 << 20  # bytes hashed per read


def save(model: nn.Module, path: Path, meta: dict[str, Any]) -> str:
    """Write ``model``'s state dict to ``path`` and ``meta`` (plus the file's SHA-256) to
    ``path.with_suffix('.json')``; returns the SHA-256."""
    with atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)
        digest = sha256(tmp)
    meta = {**meta, HASH_KEY: digest}
    write_text(meta_path(path), json.dumps(meta, indent=2, sort_keys=True, default=str))
    return digest


def sha256(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def load_state(path: Path, field: str = "model.weights") -> dict[str, torch.Tensor]:
    """Read a state dict safely; a missing, corrupt or non-finite file is a one-line
    ``HarnessError``."""
    state = read(path, field)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a common checkpoint layout: {"state_dict": ..., ...}
    if not isinstance(state, dict):
        raise HarnessError(f"{field}: {path} holds a {type(state).__name__}, expected a state_dict")
    _check_finite(state, path, field)
    return state


def read(path: Path, field: str = "model.weights") -> Any:
    """What a checkpoint file holds, read safely (``weights_only=True``; a ``.safetensors`` file
    by safetensors); a missing file or one that is not a checkpoint is a one-line error."""
    check_regular(path, "a PyTorch state_dict file", field)
    if not path.is_file():
        raise HarnessError(f"{field}: {path} does not exist; expected a PyTorch state_dict file")
    try:
        with warnings.catch_warnings():  # e.g. pickle protocol notes: the error says enough
            warnings.simplefilter("ignore")
            if path.suffix == SAFETENSORS:
                return _safetensors(path)
            # training scripts (timm's among them) save their argparse arguments beside the
            # weights: plain attributes, safe to rebuild, so allowed by name
            with torch.serialization.safe_globals([argparse.Namespace]):
                return torch.load(path, map_location=device.HOST, weights_only=True)
    except HarnessError:
        raise
    except Exception as exc:  # torch raises many types for corrupt files
        refuse_non_checkpoint(path, field)
        raise HarnessError(f"{field}: {path} is not a readable state_dict ({_why(exc)})") from None


def _safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise HarnessError(
            f"{path}: reading .safetensors needs the safetensors package (pip install safetensors)"
        ) from None
    return load_file(str(path), device=device.HOST.type)


def _why(exc: BaseException) -> str:
    """One line on why ``torch.load`` failed (not torch's advice to load unsafely)."""
    text = str(exc).strip()
    if text.startswith("Weights only load failed"):
        return (
            "it holds Python objects besides tensors, refused for safety by "
            "torch.load(weights_only=True); expected torch.save(model.state_dict(), path)"
        )
    if "PytorchStreamReader" in text or "zip archive" in text:
        return "a damaged or truncated PyTorch zip file, e.g. an interrupted download"
    return text.splitlines()[0] if text else type(exc).__name__


def _check_finite(state: dict[str, Any], path: Path, field: str) -> None:
    """Refuse NaN/inf weights, naming the first tensor that holds one."""
    for key, value in state.items():
        if _is_float(value) and not bool(torch.isfinite(value).all()):
            raise HarnessError(
                f"{field}: {path} has non-finite values (NaN or inf) in {key!r}; "
                "expected finite weights"
            )


def _is_float(value: object) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def load_into(
    model: nn.Module,
    path: Path,
    field: str = "model.weights",
    state: dict[str, torch.Tensor] | None = None,
) -> None:
    """Load weights from ``path`` (or its already read ``state``) into ``model``; shape/key
    mismatches are one-line errors."""
    state = load_state(path, field) if state is None else state
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise HarnessError(f"{field}: {path} does not fit the model ({detail})") from None


# Keys training scripts nest the weights under ({"state_dict": ..., "epoch": ...}), and key
# prefixes that wrappers add: DataParallel ("module."), a wrapper's own attribute ("model.",
# RobustBench's Chen2020Efficient), torch.compile ("_orig_mod.")
WRAPPERS = ("state_dict", "model", "model_state_dict", "net")
PREFIXES = ("module.", "model.", "_orig_mod.")
SHOWN_KEYS = 3  # keys an error names before "(+N more)"


def load_checkpoint(model: nn.Module, path: Path, field: str, what: str) -> None:
    """Load a third party's checkpoint into ``model`` (``what`` names it in errors): the weights
    found under the usual wrappers and prefixes, refused in one line naming the first missing,
    unexpected or misshapen keys when they do not fit."""
    state = unwrap(read(path, field), set(model.state_dict()), path, field)
    _check_finite(state, path, field)
    problems = key_problems(model.state_dict(), state)
    if problems:
        raise HarnessError(f"{field}: {path} does not fit {what}: {'; '.join(problems)}")
    model.load_state_dict(state)


def unwrap(raw: Any, expected: set[str], path: Path, field: str) -> dict[str, Any]:
    """The state dict inside a checkpoint: under its wrapper keys, less prefixes the model's own
    keys do not have."""
    state = raw
    while isinstance(state, dict) and not any(isinstance(v, torch.Tensor) for v in state.values()):
        inner = next((state[k] for k in WRAPPERS if isinstance(state.get(k), dict)), None)
        if inner is None:
            break
        state = inner
    if not isinstance(state, dict) or not any(isinstance(v, torch.Tensor) for v in state.values()):
        found = ", ".join(map(str, list(state)[:5])) if isinstance(state, dict) else ""
        holds = f"a mapping of {found}" if found else f"a {type(state).__name__}"
        raise HarnessError(f"{field}: {path} holds {holds}; expected a state_dict of tensors")
    for prefix in PREFIXES:
        if all(k.startswith(prefix) for k in state) and not all(
            k.startswith(prefix) for k in expected
        ):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def key_problems(expected: dict[str, torch.Tensor], state: dict[str, Any]) -> list[str]:
    """What keeps ``state`` from loading into a model whose state dict is ``expected``."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} is {_shape(state[k])} in the file, {_shape(v)} in the model"
        for k, v in expected.items()
        if k in state and _shape(state[k]) != _shape(v)
    ]
    problems = [f"missing keys {_first(missing)}"] if missing else []
    problems += [f"unexpected keys {_first(unexpected)}"] if unexpected else []
    return problems + ([f"shapes differ: {_first(shapes)}"] if shapes else [])


def _shape(value: Any) -> tuple[int, ...] | str:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


def _first(items: list[str]) -> str:
    more = f" (+{len(items) - SHOWN_KEYS} more)" if len(items) > SHOWN_KEYS else ""
    return ", ".join(items[:SHOWN_KEYS]) + more


def load_wrapped(model: nn.Module, path: Path, field: str = "model.weights") -> str:
    """Load a weights file into a wrapped model (``Normalize`` -> ``net``); returns its SHA-256,
    checked against its metadata when that records one. A harness checkpoint holds the wrapped
    model (normalize.*, net.*); a user's, the bare network, loaded into ``model.net``."""
    state = load_state(path, field)
    digest = verify(path, field)
    bare = not any(k.startswith("net.") for k in state)
    load_into(getattr(model, "net", model) if bare else model, path, field, state)
    return digest


def verify(path: Path, field: str = "model.weights") -> str:
    """The SHA-256 of a given weights file, checked against its metadata file when that records
    one (a file without metadata is the user's own: accepted, its hash returned)."""
    digest = sha256(path)
    expected = (load_meta(path) or {}).get(HASH_KEY)
    if isinstance(expected, str) and expected != digest:
        raise HarnessError(
            f"{field}: {path} does not match the SHA-256 recorded in {meta_path(path).name} "
            f"(expected {expected[:12]}..., got {digest[:12]}...): the file changed or is corrupt"
        )
    return digest


def cached_state(path: Path, meta: dict[str, Any]) -> tuple[dict[str, torch.Tensor], str] | None:
    """A cached file's state dict and SHA-256, or None (with a warning) when it cannot be
    trusted: hash not the recorded one, unreadable, or non-finite. A cache written before
    hashes were recorded is accepted as it is."""
    field = "cached weights"
    try:
        digest = sha256(path)
        expected = meta.get(HASH_KEY, digest)
        if expected != digest:
            raise HarnessError(
                f"{field}: {path} has SHA-256 {digest[:12]}..., not the recorded {expected[:12]}..."
            )
        return load_state(path, field), digest
    except HarnessError as exc:
        logger.warning("%s; retraining it", exc)
    except OSError as exc:
        logger.warning("%s: %s cannot be read (%s); retraining it", field, path, exc)
    return None


def load_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(meta_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def meta_path(path: Path) -> Path:
    return path.with_suffix(".json")
