"""A model read rather than built here (a zoo checkpoint, a Python module) is run on one real
batch before any work: finite but broken weights (NaN or inf logits) are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from torch import nn

import harness
from harness.cli import main
from harness.errors import HarnessError


def _images(root: Path) -> Path:
    """ROOT/<class>/0.png: one random 16x16 RGB image per class, two classes."""
    rng = np.random.default_rng(0)
    for c in "ab":
        (root / c).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(root / c / "0.png")
    return root


def test_a_zoo_checkpoint_with_negative_batchnorm_variance_is_one_line(tmp_path, capsys) -> None:
    from torchvision import models

    net = models.resnet18(num_classes=2)
    weights = net.state_dict()
    weights["bn1.running_var"].fill_(-1.0)  # finite, so the file's own check passes it
    torch.save(weights, tmp_path / "r18.pth")
    raw = {
        "name": "zoo",
        "dataset": {"name": "imagefolder", "root": str(_images(tmp_path / "imgs")),
                    "image_size": 16},
        "model": {"zoo": "torchvision", "name": "resnet18", "weights": str(tmp_path / "r18.pth"),
                  "input_size": 16},
        "attacks": ["fgsm"], "eps": [0, 0.01], "defence": None,
    }  # fmt: skip
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: model.weights: torchvision:resnet18 from ")
    assert "gives non-finite outputs (NaN or inf) on a batch of the test set" in line
    assert not (tmp_path / "out").exists()


class Huge(nn.Module):
    """Logits that overflow float32: finite weights, inf outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 10)
        nn.init.constant_(self.fc.weight, 3e38)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def test_a_given_module_with_overflowing_outputs_is_refused_before_the_run() -> None:
    with pytest.raises(HarnessError, match=r"^model: the given Huge gives non-finite outputs"):
        harness.benchmark(Huge(), n_test=20, eps=[0, 0.1])
