"""Model weights on disk: atomic saves with a metadata file, safe loads (``weights_only=True``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness.errors import HarnessError
from harness.io import atomic_path, write_text


def save(model: nn.Module, path: Path, meta: dict[str, Any]) -> None:
    """Write ``model``'s state dict to ``path`` and ``meta`` to ``path.with_suffix('.json')``."""
    with atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)
    write_text(meta_path(path), json.dumps(meta, indent=2, sort_keys=True, default=str))


def load_state(path: Path, field: str = "model.weights") -> dict[str, torch.Tensor]:
    """Read a state dict safely; a missing or corrupt file is a one-line ``HarnessError``."""
    if not path.is_file():
        raise HarnessError(f"{field}: {path} does not exist; expected a PyTorch state_dict file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HarnessError(f"{field}: {path} is not a readable state_dict ({first})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a common checkpoint layout: {"state_dict": ..., ...}
    if not isinstance(state, dict):
        raise HarnessError(f"{field}: {path} holds a {type(state).__name__}, expected a state_dict")
    return state


def load_into(model: nn.Module, path: Path, field: str = "model.weights") -> None:
    """Load weights from ``path`` into ``model``; shape/key mismatches are one-line errors."""
    state = load_state(path, field)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise HarnessError(f"{field}: {path} does not fit the model ({detail})") from None


def load_meta(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(meta_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def meta_path(path: Path) -> Path:
    return path.with_suffix(".json")
