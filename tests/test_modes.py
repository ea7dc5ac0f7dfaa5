"""``harness.modes.evaluating``: eval mode inside the block, the model's own flag back after."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from harness.modes import evaluating


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))


@pytest.mark.parametrize("training", [True, False])
def test_eval_inside_and_the_flag_restored_after(training: bool) -> None:
    model = _model().train(training)
    with evaluating(model) as m:
        assert m is model and not any(s.training for s in model.modules())
        assert torch.is_grad_enabled()  # grad None: as the caller has it
    assert all(s.training == training for s in model.modules())


def test_the_flag_comes_back_on_an_error_and_grad_is_as_asked() -> None:
    model = _model().train()
    with pytest.raises(RuntimeError, match="boom"), evaluating(model, grad=False):
        assert not torch.is_grad_enabled()
        raise RuntimeError("boom")
    assert model.training and torch.is_grad_enabled()
    with torch.no_grad(), evaluating(model, grad=True):
        assert torch.is_grad_enabled()
    assert model.training
