"""Zoo models (torchvision, timm, RobustBench's layout) read offline through a spec.

Each test builds a zoo's network with random weights, saves it the way that zoo's users have it
(a plain state dict, a training checkpoint with wrappers, RobustBench's folders), loads it back
through a spec and checks the logits are the saved network's on the zoo's own preprocessing.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from PIL import Image
from torch import nn

from harness import zoo
from harness.cli import main
from harness.spec import load_spec
from harness.zoo import robustbench
from harness.zoo.cifar_nets import WideResNet

CLASSES, SIZE = 10, 16  # a tiny 10-class RGB image folder of 16x16 images


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOT/{train,test}/c<k>/0.png: one random 16x16 RGB image per class and split."""
    root, rng = tmp_path_factory.mktemp("zoo_images"), np.random.default_rng(0)
    for split in ("train", "test"):
        for k in range(CLASSES):
            (root / split / f"c{k}").mkdir(parents=True)
            pixels = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / split / f"c{k}" / "0.png")
    return root


def _spec(tmp_path: Path, images: Path, model: dict, **rest: object) -> Path:
    raw = {
        "name": "zoo_test",
        "dataset": {"name": "imagefolder", "root": str(images), "image_size": SIZE},
        "model": model,
        "attacks": ["fgsm"],
        "eps": [0, 0.01],
        "evasion": {"n_images": 0},
        "gradcam": {"n_images": 0},
        **({} if "defences" in rest else {"defence": None}),  # evaluated as given
        **rest,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _x() -> torch.Tensor:
    return torch.rand(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


def _expected(net: nn.Module, x: torch.Tensor, mean, std, size: int) -> torch.Tensor:
    """The saved network on its zoo's preprocessing, written out here: resize, then normalize."""
    x = F.interpolate(x, (size, size), mode="bilinear", align_corners=False, antialias=True)
    m, s = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)
    with torch.no_grad():
        return net.eval()((x - m) / s)


def _loaded(spec: Path) -> zoo.ZooModel:
    return zoo.load(load_spec(spec).model, (3, SIZE, SIZE), CLASSES)


def _run(spec: Path, out: Path, capsys) -> dict:
    code = main(["run", str(spec), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    return json.loads((out / "run.json").read_text())


def _error(spec: Path, capsys) -> str:
    """The one line a bad zoo spec gives (exit 2, no traceback)."""
    assert main(["validate", str(spec)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def _eps_rows(out: Path) -> dict[str, float]:
    rows = (out / "results.csv").read_text().splitlines()[1:]
    return {",".join(r.split(",")[1:4]): float(r.split(",")[4]) for r in rows}


# ------------------------------------------------------------------------------ torchvision


def _resnet18(path: Path) -> nn.Module:
    from torchvision import models

    torch.manual_seed(0)
    net = models.resnet18(num_classes=CLASSES)
    torch.save(net.state_dict(), path)
    return net


def test_torchvision_weights_load_back_behind_imagenet_preprocessing(tmp_path, images) -> None:
    net = _resnet18(tmp_path / "resnet18.pth")
    model = {"zoo": "torchvision", "name": "resnet18", "weights": str(tmp_path / "resnet18.pth")}
    z = _loaded(_spec(tmp_path, images, model))
    assert not z.model.training  # evaluated as given
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # torchvision's ImageNet statistics
    with torch.no_grad():
        got = z.model(_x())
    torch.testing.assert_close(got, _expected(net, _x(), mean, std, 224), rtol=1e-4, atol=1e-5)
    assert "16x16 resized to 224x224" in z.how and "mean (0.485, 0.456, 0.406)" in z.how


def test_an_upscaled_input_is_said_before_the_run_spends_196x_the_pixels(
    tmp_path, images, caplog
) -> None:
    """A CIFAR-sized checkpoint of a torchvision builder silently ran at 224x224: the first run
    of a new user took 310 s instead of 49 s. The load says so, once, and how to keep 16x16."""
    _resnet18(tmp_path / "resnet18.pth")
    model = {"zoo": "torchvision", "name": "resnet18", "weights": str(tmp_path / "resnet18.pth")}
    with caplog.at_level("WARNING", logger="harness.zoo"):
        _loaded(_spec(tmp_path, images, model))
    (record,) = caplog.records
    assert record.getMessage() == (
        "torchvision resnet18 takes 224x224 images: the data's 16x16 are resized to that inside "
        "the model, which costs 196x the pixels; for a network trained at 16x16 set "
        "model.input_size: 16"
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="harness.zoo"):
        _loaded(_spec(tmp_path, images, {**model, "input_size": 16}))
    assert caplog.records == []


@pytest.mark.slow
def test_torchvision_resnet18_benchmark_through_the_cli(tmp_path, images, capsys) -> None:
    _resnet18(tmp_path / "resnet18.pth")
    weights = str(tmp_path / "resnet18.pth")
    model = {"zoo": "torchvision", "name": "resnet18", "weights": weights, "input_size": 32}
    run = _run(_spec(tmp_path, images, model), tmp_path / "out", capsys)
    (m,) = run["models"]
    assert m["arch"] == "torchvision:resnet18" and "not trained" in m["training"]
    assert "16x16 resized to 32x32" in m["training"] and m["history"] == []
    # eps is in the data's pixel units, not the resized image's
    assert _eps_rows(tmp_path / "out")["fgsm,0.01,mean_linf"] == pytest.approx(0.01, abs=1e-6)


# ------------------------------------------------------------------------------------- timm


def _timm_checkpoint(path: Path, name: str = "test_resnet", seed: int = 0) -> nn.Module:
    """A timm training script's checkpoint: the weights under "state_dict" with DataParallel's
    "module." prefix, beside the epoch and the argparse arguments."""
    import timm

    torch.manual_seed(seed)
    net = timm.create_model(name, pretrained=False, num_classes=CLASSES)
    state = {f"module.{k}": v for k, v in net.state_dict().items()}
    args = argparse.Namespace(model=name, lr=0.1)
    torch.save({"epoch": 3, "arch": name, "state_dict": state, "args": args}, path)
    return net


def test_timm_checkpoint_benchmark_through_the_cli(tmp_path, images, capsys) -> None:
    pytest.importorskip("timm")
    net = _timm_checkpoint(tmp_path / "ckpt.pth.tar")
    model = {"zoo": "timm", "name": "test_resnet", "checkpoint": str(tmp_path / "ckpt.pth.tar"),
             "input_size": 32}  # fmt: skip
    spec = _spec(tmp_path, images, model)
    run = _run(spec, tmp_path / "out", capsys)
    (m,) = run["models"]
    assert m["arch"] == "timm:test_resnet" and "16x16 resized to 32x32" in m["training"]
    assert "mean (0.5, 0.5, 0.5)" in m["training"]  # test_resnet's pretrained config
    assert _eps_rows(tmp_path / "out")["fgsm,0.01,mean_linf"] == pytest.approx(0.01, abs=1e-6)
    with torch.no_grad():
        got = _loaded(spec).model(_x())
    torch.testing.assert_close(got, _expected(net, _x(), (0.5,) * 3, (0.5,) * 3, 32))
    _the_app_rebuilds_it(tmp_path / "out", got, tmp_path / "ckpt.pth.tar")


def _the_app_rebuilds_it(out: Path, logits: torch.Tensor, checkpoint: Path) -> None:
    """The app reads the run's zoo model again (same logits), and refuses it once the
    checkpoint is no longer the file the run read."""
    from harness.app.models import load_models
    from harness.app.runs import load_app_run

    (m,) = load_models(load_app_run(out))
    assert m.available, m.reason
    with torch.no_grad(), m.exclusive() as model:
        torch.testing.assert_close(model(_x()), logits)
    _timm_checkpoint(checkpoint, seed=1)  # another network saved over the run's file
    (m,) = load_models(load_app_run(out))
    assert not m.available and "changed since the run" in m.reason and str(checkpoint) in m.reason


def test_timm_reads_a_safetensors_file_at_its_configured_size(tmp_path, images) -> None:
    pytest.importorskip("timm")
    safetensors = pytest.importorskip("safetensors.torch")
    net = _timm_checkpoint(tmp_path / "unused.pt")
    safetensors.save_file(net.state_dict(), str(tmp_path / "model.safetensors"))
    model = {
        "zoo": "timm",
        "name": "test_resnet",
        "checkpoint": str(tmp_path / "model.safetensors"),
    }
    z = _loaded(_spec(tmp_path, images, model))
    assert "16x16 resized to 160x160" in z.how  # test_resnet's pretrained input size
    with torch.no_grad():
        got = z.model(_x())
    torch.testing.assert_close(got, _expected(net, _x(), (0.5,) * 3, (0.5,) * 3, 160))


# ------------------------------------------------------------------------------ RobustBench


@pytest.fixture
def tiny_entry() -> Iterator[str]:
    """A RobustBench-style entry of a small architecture (WRN-10-1, CIFAR normalization)."""
    name = "Tiny2026Zoo"
    entry = robustbench.Entry(
        (("cifar10", "Linf"),), lambda k: WideResNet(10, 1, k), *robustbench.CIFAR10_RICE
    )
    robustbench.ENTRIES.register(name)(entry)
    yield name
    robustbench.ENTRIES.unregister(name)


def test_robustbench_layout_benchmark_through_the_cli(tmp_path, images, tiny_entry, capsys) -> None:
    torch.manual_seed(0)
    net = WideResNet(10, 1, CLASSES)
    folder = tmp_path / "rb" / "cifar10" / "Linf"
    folder.mkdir(parents=True)
    # as Carmon2019Unlabeled's file: {"state_dict": {"module.<key>": ...}}
    state = {f"module.{k}": v for k, v in net.state_dict().items()}
    torch.save({"state_dict": state}, folder / f"{tiny_entry}.pt")
    model = {"zoo": "robustbench", "name": tiny_entry, "dataset": "cifar10",
             "threat_model": "Linf", "model_dir": str(tmp_path / "rb")}  # fmt: skip
    spec = _spec(tmp_path, images, model, defences=["jpeg"])  # a stage in front of it
    run = _run(spec, tmp_path / "out", capsys)
    m, jpeg = run["models"]
    assert m["arch"] == f"robustbench:{tiny_entry}" and "16x16 resized to 32x32" in m["training"]
    assert jpeg["arch"] == f"jpeg + robustbench:{tiny_entry}"
    with torch.no_grad():
        got = _loaded(spec).model(_x())
    torch.testing.assert_close(got, _expected(net, _x(), *robustbench.CIFAR10_RICE, 32))


def test_robustbench_standard_is_wrn_28_10() -> None:
    """Standard is RobustBench's WideResNet-28-10: 36,479,194 parameters, raw [0, 1] inputs."""
    e = robustbench.ENTRIES.get("Standard")
    assert sum(p.numel() for p in e.build(10).parameters()) == 36_479_194
    assert (e.mean, e.std, e.size) == ((0.0,), (1.0,), (32, 32))


# ---------------------------------------------------------------------------- bad inputs


def test_missing_robustbench_file_names_where_it_is_expected(tmp_path, images, capsys) -> None:
    model = {"zoo": "robustbench", "name": "Standard", "model_dir": str(tmp_path / "rb")}
    line = _error(_spec(tmp_path, images, model), capsys)
    expected = tmp_path / "rb" / "cifar10" / "Linf" / "Standard.pt"
    assert f"model.model_dir: expected the robustbench checkpoint of Standard at {expected}" in line
    assert (
        "<model_dir>/<dataset>/<threat_model>/<name>.pt" in line and "nothing is downloaded" in line
    )


def test_an_html_page_saved_as_a_checkpoint_is_named_as_such(tmp_path, images, capsys) -> None:
    page = tmp_path / "resnet18.pth"
    page.write_text("<!DOCTYPE html><html><head><title>Google Drive</title></head></html>\n")
    model = {"zoo": "torchvision", "name": "resnet18", "weights": str(page)}
    line = _error(_spec(tmp_path, images, model), capsys)
    assert f"model.weights: {page} is not a readable state_dict: it is an HTML page" in line


def test_a_folder_given_as_the_checkpoint_is_called_a_folder(tmp_path, images, capsys) -> None:
    model = {"zoo": "torchvision", "name": "resnet18", "weights": str(tmp_path)}
    line = _error(_spec(tmp_path, images, model), capsys)
    assert f"checkpoint of resnet18 at {tmp_path}, which is a folder; nothing is" in line


def test_checkpoint_of_another_architecture_names_the_first_keys(tmp_path, images, capsys) -> None:
    _resnet18(tmp_path / "resnet18.pth")  # resnet34 has more blocks per stage
    model = {"zoo": "torchvision", "name": "resnet34", "weights": str(tmp_path / "resnet18.pth")}
    assert main(["run", str(_spec(tmp_path, images, model)), "--out", str(tmp_path / "o")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "does not fit torchvision resnet34: missing keys layer1.2.conv1.weight," in line


@pytest.mark.parametrize(
    ("model", "extra", "expected"),
    [
        ({"zoo": "torchvision", "name": "resnet5", "weights": "w.pt"}, {},
         "model.name: 'resnet5' is not a torchvision model"),
        ({"zoo": "timmm", "name": "x"}, {}, "model.zoo: unknown zoo 'timmm'"),
        ({"name": "resnet50"}, {}, "model.name: only read for a zoo model"),
        ({"zoo": "torchvision", "name": "resnet18", "checkpoint": "c.pt"}, {},
         "model.checkpoint: the torchvision zoo does not read it"),
        ({"zoo": "robustbench", "name": "Standard", "threat_model": "Linfinity"}, {},
         "model.threat_model: expected one of Linf, L2, corruptions"),
        ({"zoo": "torchvision", "weights": "w.pt"}, {}, "model.name: expected the model's name"),
        ({"zoo": "torchvision", "name": "resnet18"}, {}, "model.weights: expected the path"),
        ({"zoo": "torchvision", "name": "resnet18", "train": {"epochs": 3}}, {},
         "model.train: a zoo model is evaluated as given, never trained"),
        ({"zoo": "timm", "name": "x", "arch": "small_cnn"}, {}, "model.arch: a zoo model"),
        ({"zoo": "torchvision", "name": "resnet18", "weights": "w.pt"},
         {"defence": {"name": "adversarial_training"}},
         "defence: adversarial_training trains a new network of the baseline's architecture"),
    ],
)  # fmt: skip
def test_bad_zoo_specs_are_one_line(tmp_path, images, capsys, model, extra, expected) -> None:
    if "weights" in model:  # a real checkpoint, so only the field under test is wrong
        _resnet18(tmp_path / "w.pt")
        model = {**model, "weights": str(tmp_path / "w.pt")}
    assert expected in _error(_spec(tmp_path, images, model, **extra), capsys)


def test_run_json_records_the_zoo_fields_given_and_no_others() -> None:
    """run.json's spec (``to_dict``) has the zoo fields a spec sets; a spec without a zoo has
    none of them (so older run.json files and hashes read as before)."""
    from harness.spec import parse_spec

    model = {"zoo": "robustbench", "name": "Standard", "model_dir": "rb", "input_size": 32}
    recorded = parse_spec({"model": model, "defence": None}).to_dict()["model"]
    assert {k: recorded[k] for k in model} == model and "checkpoint" not in recorded
    plain = parse_spec({}).to_dict()["model"]
    assert not set(plain) & {"zoo", "name", "checkpoint", "model_dir", "input_size"}
