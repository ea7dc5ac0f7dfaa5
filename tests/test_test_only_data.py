"""A run that trains nothing (given weights, a zoo model) reads no training split.

A flat image folder is then wholly the test split, ``ROOT/test/<class>/*`` alone is a valid
layout, and a run that does train on a folder without a training split is one clear line.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from harness.cli import main
from harness.datasets import load_dataset
from harness.errors import HarnessError
from harness.prepare import prepare, summary
from harness.spec import DataSpec, parse_spec

PER_CLASS, CLASSES = 5, ("cat", "dog")  # 10 images of 8x8 gray


def _folder(root: Path, split: str = "") -> Path:
    """ROOT[/split]/<class>/<i>.png: PER_CLASS random 8x8 images per class."""
    rng = np.random.default_rng(0)
    for cls in CLASSES:
        (root / split / cls).mkdir(parents=True)
        for i in range(PER_CLASS):
            pixels = rng.integers(0, 256, (8, 8), dtype=np.uint8)
            Image.fromarray(pixels).save(root / split / cls / f"{i}.png")
    return root


def _linear_model(tmp_path: Path) -> dict:
    """A given-weights model: a builder and its state dict (64 pixels -> 2 classes)."""
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        from torch import nn
        def build(num_classes):
            return nn.Sequential(nn.Flatten(), nn.Linear(64, num_classes))
    """))  # fmt: skip
    torch.manual_seed(0)
    torch.save(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)).state_dict(), tmp_path / "net.pt")
    return {"builder": f"{tmp_path / 'net.py'}:build", "weights": str(tmp_path / "net.pt")}


def _zoo_model(tmp_path: Path) -> dict:
    from torchvision import models

    torch.save(models.resnet18(num_classes=2).state_dict(), tmp_path / "r18.pth")
    return {"zoo": "torchvision", "name": "resnet18", "weights": str(tmp_path / "r18.pth")}


def _raw(root: Path, model: dict | None, **rest: object) -> dict:
    data = {"name": "imagefolder", "root": str(root), "image_size": 8, "channels": 1}
    raw = {"name": "t", "dataset": data, "eps": [0, 0.1], "defence": None, **rest}
    raw["evasion"] = raw["gradcam"] = {"n_images": 0}
    return raw | ({"model": model} if model else {})


@pytest.mark.parametrize("given", [_linear_model, _zoo_model])
def test_a_flat_folder_is_all_test_split_when_nothing_trains(tmp_path, given) -> None:
    root = _folder(tmp_path / "flat")
    raw = _raw(root, given(tmp_path))
    raw["dataset"]["n_test"] = 10  # the trial's "test split has 10" (of 50) no longer happens
    data, split = prepare(parse_spec(raw))
    assert len(data.y_test) == 10 and len(data.y_train) == len(split.y_train) == 0
    assert np.bincount(data.y_test).tolist() == [5, 5]
    s = summary(data, split)
    assert (s.n_train, s.n_val, s.n_test) == (0, 0, 10)
    assert s.extra["split"] == "all 10 images of the folder are the test split: nothing is trained"


def test_a_training_run_keeps_the_fixed_80_20_split(tmp_path) -> None:
    root = _folder(tmp_path / "flat")
    spec = parse_spec(_raw(root, None))
    data, split = prepare(spec)
    assert len(data.y_train) == 8 and len(data.y_test) == 2
    assert np.bincount(data.y_test).tolist() == [1, 1]
    assert len(split.y_train) + len(split.y_val) == 8 and "split" not in summary(data, split).extra


def test_a_defence_that_trains_keeps_the_split_even_with_given_weights(tmp_path) -> None:
    root = _folder(tmp_path / "flat")
    spec = parse_spec(_raw(root, _linear_model(tmp_path), defence={"name": "fast_fgsm"}))
    data, _ = prepare(spec)
    assert (len(data.y_train), len(data.y_test)) == (8, 2)


def test_a_test_only_folder_is_evaluated(tmp_path) -> None:
    root = _folder(tmp_path / "val", "test")  # ROOT/test/<class>/*, no train/
    data, split = prepare(parse_spec(_raw(root, _linear_model(tmp_path))))
    assert data.class_names == CLASSES and len(data.y_test) == 10 and len(split.y_train) == 0


def test_the_training_split_is_not_decoded_when_nothing_trains(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    root = _folder(_folder(tmp_path / "both", "train"), "test")
    spec = DataSpec("imagefolder", root=str(root), image_size=8, channels=1)
    assert len(load_dataset(spec, 0, train=False).y_train) == 0
    cached = [p.name for p in (tmp_path / "cache" / "images").glob("*.npy")]
    assert len(cached) == 1 and cached[0].startswith("both-test-")
    assert len(load_dataset(spec, 0).y_train) == 10  # a training run reads both


def test_cifake_without_a_train_folder_loads_when_nothing_trains(tmp_path) -> None:
    root = tmp_path / "cifake"
    for i, cls in enumerate(("REAL", "FAKE")):
        (root / "test" / cls).mkdir(parents=True)
        Image.new("RGB", (32, 32), (60 * i, 0, 0)).save(root / "test" / cls / "0.jpg")
    ds = load_dataset(DataSpec("cifake", root=str(root)), 0, train=False)
    assert ds.y_test.tolist() == [0, 1] and ds.x_train.shape == (0, 3, 32, 32)
    assert ds.split_note.endswith("(training split not read)")
    with pytest.raises(HarnessError, match="train"):
        load_dataset(DataSpec("cifake", root=str(root)), 0)


def test_a_loader_that_cannot_skip_keeps_its_test_split_and_drops_training(tmp_path) -> None:
    both, test_only = (load_dataset(DataSpec("digits"), 0, train=t) for t in (True, False))
    np.testing.assert_array_equal(test_only.y_test, both.y_test)  # the fixed split's test part
    assert len(both.y_train) > 0 and len(test_only.y_train) == 0
    assert test_only.split_note.endswith("(training split read but not used)")


def test_train_from_test_is_refused_when_nothing_trains(tmp_path) -> None:
    spec = DataSpec("imagefolder", root=str(_folder(tmp_path / "f")), train_from_test=2)
    with pytest.raises(HarnessError, match=r"^dataset\.train_from_test: this run trains nothing"):
        load_dataset(spec, 0, train=False)


def _run(tmp_path: Path, raw: dict, capsys) -> tuple[int, str]:
    (tmp_path / "spec.yaml").write_text(json.dumps(raw))
    code = main(["run", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out")])
    return code, capsys.readouterr().err.strip()


def test_run_json_and_report_say_the_whole_folder_is_the_test_split(tmp_path, capsys) -> None:
    code, err = _run(tmp_path, _raw(_folder(tmp_path / "flat"), _linear_model(tmp_path)), capsys)
    assert code == 0, err
    data = json.loads((tmp_path / "out" / "run.json").read_text())["data"]
    assert (data["n_train"], data["n_val"], data["n_test"]) == (0, 0, 10)
    note = "all 10 images of the folder are the test split: nothing is trained"
    assert data["split"] == note and note in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.parametrize(
    ("defence", "why"),
    [(None, "the baseline is trained"), ({"name": "fast_fgsm"}, "defence fast_fgsm trains")],
)
def test_a_test_only_folder_with_a_run_that_trains_is_one_line(
    tmp_path, capsys, defence, why
) -> None:
    root = _folder(tmp_path / "val", "test")
    model = _linear_model(tmp_path) if defence else None
    code, err = _run(tmp_path, _raw(root, model, defence=defence), capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "has no training split" in err and why in err and str(root) in err
