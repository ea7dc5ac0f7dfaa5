"""Model weights on disk: atomic saves with a metadata file, safe loads (``weights_only=True``).

Every save records the file's SHA-256 in its metadata (``path.with_suffix('.json')``). A load
checks it when it is there, and refuses weights holding NaN or inf: a cached file that fails is
retrained by the caller (``cached_state``), a given one (``model.weights``) is a one-line error.
"""

from __future__ import annotations

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
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise HarnessError(f"{field}: {path} {what}; expected a PyTorch state_dict file")
    try:
        with warnings.catch_warnings():  # e.g. pickle protocol notes: the error says enough
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=device.HOST, weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise HarnessError(f"{field}: {path} is not a readable state_dict ({_why(exc)})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a common checkpoint layout: {"state_dict": ..., ...}
    if not isinstance(state, dict):
        raise HarnessError(f"{field}: {path} holds a {type(state).__name__}, expected a state_dict")
    _check_finite(state, path, field)
    return state


def _why(exc: BaseException) -> str:
    """One line on why ``torch.load`` failed (not torch's advice to load unsafely)."""
    text = str(exc).strip()
    if text.startswith("Weights only load failed"):
        return (
            "it holds Python objects besides tensors, refused for safety by "
            "torch.load(weights_only=True); expected torch.save(model.state_dict(), path)"
        )
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
