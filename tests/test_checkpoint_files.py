"""A file that is no checkpoint is named for what it is, in one line: a user's mistakes with
weights files (a YAML or a .npy renamed, a download cut short, a folder) are told apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from harness import checkpoints
from harness.errors import HarnessError


def _error(path: Path) -> str:
    with pytest.raises(HarnessError) as err:
        checkpoints.load_state(path)
    assert len(str(err.value).splitlines()) == 1
    return str(err.value)


def test_a_truncated_checkpoint_reads_as_damaged_not_as_torch_internals(tmp_path) -> None:
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(64)}, good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert _error(cut) == (
        f"model.weights: {cut} is not a readable state_dict "
        "(a damaged or truncated PyTorch zip file, e.g. an interrupted download)"
    )
    assert torch.equal(checkpoints.load_state(good)["w"], torch.ones(64))


def test_text_and_npy_files_are_named_as_such(tmp_path) -> None:
    text = tmp_path / "spec.pt"
    text.write_text("model:\n  arch: resnet18\n")
    assert _error(text).endswith("it is a text file, not a checkpoint, 24 bytes")
    array = tmp_path / "array.pt"
    np.save(tmp_path / "a.npy", np.zeros(3))
    (tmp_path / "a.npy").rename(array)
    assert "it is a NumPy .npy array, not a checkpoint" in _error(array)


def test_a_legacy_pickle_checkpoint_is_not_called_text(tmp_path) -> None:
    old = tmp_path / "old.pt"
    torch.save({"w": torch.ones(2)}, old, _use_new_zipfile_serialization=False)
    assert checkpoints.not_a_checkpoint(old) == ""
    assert torch.equal(checkpoints.load_state(old)["w"], torch.ones(2))


def test_a_folder_is_called_a_folder(tmp_path) -> None:
    assert _error(tmp_path).endswith(f"{tmp_path} is a folder; expected a PyTorch state_dict file")
