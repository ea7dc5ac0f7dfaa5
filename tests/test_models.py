"""Architectures, the normalize layer, and bring-your-own models (Python API and spec builder)."""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import harness
from harness.architectures import ARCHITECTURES, wrap
from harness.errors import HarnessError
from harness.results import CSV_COLUMNS


@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_every_architecture_builds_for_its_declared_shape(name: str) -> None:
    arch = ARCHITECTURES.get(name)
    shapes = (
        [arch.input_shape]
        if None not in arch.input_shape
        else [(1, 8, 8), (1, 28, 28), (3, 32, 32)]
    )
    for shape in shapes:
        model = wrap(arch.build(shape, 2), arch.mean, arch.std, shape[0]).eval()
        assert model(torch.rand(3, *shape)).shape == (3, 2)


def test_seed000_layers() -> None:
    net = ARCHITECTURES.get("spatial_baseline_cnn").build((3, 32, 32), 2)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (3, 32, (3, 3)), (32, 64, (3, 3)), (64, 128, (3, 3)),
    ]  # fmt: skip
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(2048, 256), (256, 2)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 3
    robust = ARCHITECTURES.get("robust_cnn").build((3, 32, 32), 2)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in robust.modules())
    assert any(isinstance(m, nn.Dropout) for m in robust.modules())


def test_normalization_is_inside_the_model() -> None:
    net = nn.Identity()
    model = wrap(net, (0.5,), (0.25,), 3)
    x = torch.full((1, 3, 2, 2), 0.75)
    assert torch.allclose(model(x), torch.full_like(x, 1.0))  # (0.75 - 0.5) / 0.25


def test_shape_mismatch_is_a_one_line_error(capsys, tmp_path) -> None:
    from harness.cli import main

    code = main(
        ["validate", "benchmarks/digits_fgsm.yaml", "--set", "model.arch=spatial_baseline_cnn"]
    )
    assert code == 0  # names are fine; the shape is checked once the data is known
    code = main(["run", "--set", "model.arch=spatial_baseline_cnn", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "3x32x32" in err and "1x8x8" in err


class TinyNet(nn.Module):
    """A user's model: takes normalized 1x8x8 digits, returns logits."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_python_api_benchmarks_a_user_module() -> None:
    torch.manual_seed(0)
    net = TinyNet()
    result = harness.benchmark(
        net, dataset="digits", attacks=["fgsm"], eps=[0, "8/255", 0.1], mean=[0.5], std=[0.5],
        n_test=100, evasion={"n_images": 1}, gradcam={"n_images": 1},
    )  # fmt: skip
    assert [m.role for m in result.models] == ["baseline"]
    assert result.models[0].training == "given as a Python object"
    eps = sorted({m.eps for m in result.measurements if m.attack == "fgsm"})
    assert eps == pytest.approx([0, 8 / 255, 0.1])
    assert result.data.n_test == 100
    assert {m.metric for m in result.measurements} <= set(harness.results.METRICS)
    assert tuple(harness.results.Measurement.__dataclass_fields__) == CSV_COLUMNS


def test_an_api_run_with_a_builder_is_rebuilt_by_the_app(tmp_path, monkeypatch) -> None:
    """With ``builder=`` the given module's weights are saved by content and the app rebuilds
    the same network (same logits); without it the app names what to pass."""
    from harness.app.models import load_models
    from harness.app.runs import load_app_run
    from harness.report import write_report

    (tmp_path / "tinynet.py").write_text(  # the user's file: the class of the module they pass
        "from torch import nn\n\n"
        + textwrap.dedent(inspect.getsource(TinyNet)).replace("torch.Tensor", "object")
    )
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    torch.manual_seed(3)
    net = TinyNet()
    common = dict(
        attacks=["fgsm"], eps=[0, 0.1], mean=[0.5], std=[0.5], n_test=40,
        evasion={"n_images": 0}, gradcam={"n_images": 0},
    )  # fmt: skip
    result = harness.benchmark(net, builder=f"{tmp_path / 'tinynet.py'}:TinyNet", **common)
    weights = Path(result.models[0].weights)
    assert weights.is_file() and weights.parent.name == "given"
    again = harness.benchmark(net, builder=f"{tmp_path / 'tinynet.py'}:TinyNet", **common)
    assert again.models[0].weights == str(weights)  # the same weights: the same file
    (rebuilt,) = load_models(load_app_run(write_report(result, tmp_path / "with")))
    assert rebuilt.model is not None, rebuilt.reason
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(rebuilt.model.cpu()(x), net((x - 0.5) / 0.5))
    bare = harness.benchmark(net, **common)
    assert not bare.models[0].weights
    (shown,) = load_models(load_app_run(write_report(bare, tmp_path / "without")))
    assert shown.model is None and "builder='file.py:function'" in shown.reason


def test_a_builder_unlike_the_given_module_is_one_line(tmp_path) -> None:
    (tmp_path / "other.py").write_text(
        "from torch import nn\ndef build():\n    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))\n"
    )
    with pytest.raises(HarnessError, match=r"model.builder: .* does not match the given model"):
        harness.benchmark(TinyNet(), builder=f"{tmp_path / 'other.py'}:build", n_test=20)


def test_spec_builder_with_weights_is_evaluated_like_a_builtin(tmp_path, capsys) -> None:
    from harness.cli import main

    (tmp_path / "mynet.py").write_text(textwrap.dedent("""
        from torch import nn
        def build(num_classes):
            return nn.Sequential(nn.Flatten(), nn.Linear(64, num_classes))
    """))  # fmt: skip
    torch.manual_seed(1)
    weights = tmp_path / "mynet.pt"
    torch.save(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).state_dict(), weights)
    spec = tmp_path / "byo.yaml"
    spec.write_text(
        f"name: byo\nmodel: {{builder: '{tmp_path / 'mynet.py'}:build', weights: '{weights}', "
        "mean: [0.5], std: [0.5]}\ndefence: null\neps: [0, 0.1]\n"
        "evasion: {n_images: 1}\ngradcam: {n_images: 0}\n"
    )
    out = tmp_path / "report"
    assert main(["run", str(spec), "--out", str(out)]) == 0, capsys.readouterr().err
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0] == "model,attack,eps,metric,value" and any(
        "baseline,fgsm,0.1," in r for r in rows
    )
    assert "loaded" in (out / "report.md").read_text()


def test_builder_errors_are_one_line(tmp_path) -> None:
    from harness.build import load_builder

    with pytest.raises(HarnessError, match="does not exist"):
        load_builder(f"{tmp_path}/missing.py:f")
    (tmp_path / "bad.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(HarnessError, match="boom"):
        load_builder(f"{tmp_path}/bad.py:f")
    (tmp_path / "ok.py").write_text("x = 1\n")
    with pytest.raises(HarnessError, match="no function 'f'"):
        load_builder(f"{tmp_path}/ok.py:f")


def test_eval_mode_batchnorm_stats_do_not_move_during_attack() -> None:
    from harness.attacks import ATTACKS, generate
    from harness.estimator import build_classifier
    from harness.spec import AttackSpec

    arch = ARCHITECTURES.get("spatial_baseline_cnn")
    model = wrap(arch.build((3, 32, 32), 2), arch.mean, arch.std, 3)
    model.train()
    model(torch.rand(16, 3, 32, 32))  # give BatchNorm non-trivial running stats
    before = {k: v.clone() for k, v in model.state_dict().items()}
    clf = build_classifier(model, (3, 32, 32), 2)
    x = np.random.default_rng(0).random((8, 3, 32, 32), dtype=np.float32)
    fgsm = ATTACKS.get("fgsm")
    generate(clf, fgsm, fgsm.resolve(AttackSpec("fgsm")), x, np.zeros(8, np.int64), 0.03)
    clf.predict(x)
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
