"""The harness's ESD power-law fit agrees with WeightWatcher's on the layers of the harness's models.

The weight analysis takes alpha from WeightWatcher where it is installed (the ``esd`` extra,
also in ``test``) and from ``harness.esd`` otherwise; the second is kept only because it gives
the same alpha (issue #15: within 0.05 on the same layers; observed: equal to ~1e-12).
"""

from __future__ import annotations

import importlib.metadata
import logging

import numpy as np
import pytest
import torch
from torch import nn

from harness import esd_ww, weights
from harness.architectures import mlp, mnist_cnn, small_cnn, wong_mnist_cnn

pytest.importorskip("weightwatcher", reason="WeightWatcher (the `esd` extra) is not installed")

TOLERANCE = 0.05  # issue #15: |alpha_harness - alpha_weightwatcher| per layer


def _trained(model: nn.Module, steps: int = 30) -> nn.Module:
    """``model`` after a few SGD steps on random 28x28 images (weights no longer i.i.d.)."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 1, 28, 28, generator=gen), torch.randint(0, 10, (64,), generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model


def _models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        "small_cnn": small_cnn((1, 8, 8), 10),
        "wong_mnist_cnn": wong_mnist_cnn((1, 28, 28), 10),  # a Conv2d with 16 eigenvalues
        "mlp": mlp((1, 8, 8), 10),
        "mnist_cnn trained": _trained(mnist_cnn((1, 28, 28), 10)),
    }


@pytest.fixture(scope="module")
def both() -> dict[str, tuple[dict, dict]]:
    """model/layer -> (harness fit, WeightWatcher fit)."""
    out = {}
    for name, model in _models().items():
        ours = weights.esd_fits(model, weightwatcher=False)
        theirs = weights.esd_fits(model, weightwatcher=True)
        assert set(ours) == set(theirs)  # the same layers
        out |= {f"{name}/{layer}": (ours[layer], theirs[layer]) for layer in ours}
    return out


def test_alpha_agrees_with_weightwatcher_on_every_layer(both) -> None:
    fitted = {k: (a, b) for k, (a, b) in both.items() if b["alpha"] is not None}
    assert len(fitted) >= 10  # both large ESDs and small-N ones (the 10-class heads)
    assert any(b["n_evals"] < 20 for _, b in fitted.values())
    for key, (ours, theirs) in fitted.items():
        assert abs(ours["alpha"] - theirs["alpha"]) <= TOLERANCE, key
        # same xmin search and same eigenvalue scale (WeightWatcher's xmin divided by N)
        assert ours["xmin"] == pytest.approx(theirs["xmin"], rel=1e-6), key
        assert ours["D"] == pytest.approx(theirs["D"], abs=1e-6), key
        assert ours["n_tail"] == theirs["n_tail"], key


def test_both_skip_the_same_layers(both) -> None:
    skipped = {k for k, (_, theirs) in both.items() if theirs["alpha"] is None}
    assert skipped == {k for k, (ours, _) in both.items() if ours["alpha"] is None}
    assert "small_cnn/features.0" in skipped  # 3x3 slices of shape (32, 1): 9 eigenvalues < 10


def test_each_fit_names_its_implementation(both) -> None:
    version = importlib.metadata.version("weightwatcher")
    assert {ours["fit"] for ours, _ in both.values()} == {"harness"}
    assert {theirs["fit"] for _, theirs in both.values()} == {f"weightwatcher {version}"}


def test_analyse_uses_weightwatcher_where_installed_and_leaves_the_model_alone() -> None:
    torch.manual_seed(0)
    model = small_cnn((1, 8, 8), 10)
    with torch.no_grad():
        model.classifier[1].weight[0, 0] = float("nan")  # WeightWatcher's SVD would raise
    before = {k: v.clone() for k, v in model.state_dict().items()}
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    rows = {r["name"]: r for r in weights.analyse(model).layers}
    assert rows["features.3"]["fit"].startswith("weightwatcher ")
    assert rows["features.3"]["alpha"] > 1 and "fit" not in rows["classifier.1"]
    assert "non-finite" in rows["classifier.1"]["note"]
    after = model.state_dict()
    assert all(torch.allclose(before[k], after[k], 0, 0, equal_nan=True) for k in before)
    assert not any(hasattr(m, "longname") for m in model.modules())  # set on its copy only
    assert (root.handlers, root.level) == (handlers, level)  # its import's basicConfig undone


def test_a_spectral_normed_model_is_read_through_its_parametrization() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    torch.nn.utils.parametrizations.spectral_norm(model[0])
    ours = weights.esd_fits(model, weightwatcher=False)
    theirs = weights.esd_fits(model, weightwatcher=True)
    assert abs(ours["0"]["alpha"] - theirs["0"]["alpha"]) <= TOLERANCE
    assert set(esd_ww.fits(model, ["0", "2"], 10)) == {"0", "2"}
    assert np.isfinite(theirs["2"]["alpha"])
