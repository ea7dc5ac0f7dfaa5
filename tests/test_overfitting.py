"""Catastrophic overfitting: FGSM-based training records PGD accuracy per epoch, and a collapse
(PGD accuracy falling while FGSM accuracy holds) is flagged (Wong et al. 2020)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SHAPE, task
from torch import nn

from harness.architectures import ARCHITECTURES, wrap
from harness.defences import HardenJob
from harness.defences import validate as validate_defence
from harness.defences.art_trainers import at_trainer, fit_epochs
from harness.defences.overfitting import watch
from harness.defences.trainers import adversarial_training, fast_fgsm
from harness.errors import HarnessError
from harness.overfitting import NAME, grade
from harness.report.sections.training import render
from harness.results import FAIL, PASS, WARN, EpochStats, ModelResult
from harness.sanity import OVERFITTING, checks
from harness.spec import DefenceSpec, TrainSpec
from harness.training import TrainData, run_epochs

pytestmark = pytest.mark.usefixtures("one_thread")


def fresh() -> nn.Module:
    torch.manual_seed(0)
    return wrap(ARCHITECTURES.get("small_cnn").build(SHAPE, 3), (0.5,), (0.5,), 1)


def job(name: str, epochs: int = 2, **params) -> HardenJob:
    x, y, edges = task(192, 0)
    xv, yv, _ = task(64, 1, edges)
    spec = DefenceSpec(name, params=params)
    data = TrainData(x, y, xv, yv)
    train = TrainSpec(epochs, 32, 0.01)
    return HardenJob(spec, validate_defence(spec), train, data, SHAPE, 3, 0, fresh)


def test_fgsm_training_records_pgd_accuracy_and_trains_exactly_as_unwatched() -> None:
    j = job("adversarial_training", attack="fgsm", eps=0.1)
    watched_model = fresh()
    np.random.seed(0)  # ART's trainer shuffles with numpy's global generator
    history = adversarial_training(j, watched_model)
    assert [e.epoch for e in history] == [1, 2]
    assert all(0 <= e.pgd_acc <= 1 and 0 <= e.fgsm_acc <= 1 for e in history)
    assert not any(e.kept for e in history)  # keep: last by default
    plain = fresh()
    np.random.seed(0)
    fit_epochs(j, plain, at_trainer(j, plain), "unwatched")
    for a, b in zip(watched_model.state_dict().values(), plain.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # watching changed nothing: shipped specs keep their numbers


def test_fast_fgsm_records_pgd_accuracy() -> None:
    history = fast_fgsm(job("fast_fgsm", epochs=1, eps=0.1), fresh())
    assert history[0].pgd_acc is not None and history[0].fgsm_acc is not None


def test_pgd_training_is_not_watched_and_keep_is_validated() -> None:
    history = adversarial_training(job("adversarial_training", epochs=1, attack="pgd"), fresh())
    assert history[0].pgd_acc is None
    with pytest.raises(HarnessError, match="keep: expected one of last, best_pgd"):
        job("fast_fgsm", keep="best")


def test_keep_best_pgd_restores_the_epoch_before_a_collapse() -> None:
    """Epoch 1 trains; epoch 2 zeroes every weight (a constructed collapse: constant outputs)."""
    j = job("fast_fgsm", eps=0.01, keep="best_pgd")
    model = fresh()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.from_numpy(j.data.x_train), torch.from_numpy(j.data.y_train)

    def fit_epoch(epoch: int) -> None:
        if epoch == 1:
            for _ in range(60):
                opt.zero_grad()
                nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
        else:
            with torch.no_grad():
                for p in model.parameters():
                    p.zero_()

    def fit(jj: HardenJob) -> list[EpochStats]:
        return run_epochs(model, jj.data, 2, fit_epoch, "collapse", jj.snapshot)

    history = watch(j, model, fit)
    assert history[0].kept and not history[1].kept
    assert history[0].pgd_acc > history[1].pgd_acc
    with torch.no_grad():  # the model ends with epoch 1's weights
        acc = float(
            (model(torch.from_numpy(j.data.x_val)).argmax(1).numpy() == j.data.y_val).mean()
        )
    assert acc == pytest.approx(history[0].val_acc)


def epochs(*accs: tuple[float, float]) -> list[EpochStats]:
    return [
        EpochStats(i, 0.1, 0.9, 0.1, 0.9, 1.0, pgd_acc=p, fgsm_acc=f)
        for i, (p, f) in enumerate(accs, 1)
    ]


def test_a_collapse_fails_and_a_steady_rise_passes() -> None:
    (collapse,) = grade("robust", epochs((0.4, 0.6), (0.5, 0.7), (0.02, 0.95)))
    assert collapse.status == FAIL and collapse.name == NAME
    assert "fell 48.0 pp, from 50.0% (epoch 2) to 2.0% (epoch 3)" in collapse.why
    assert "catastrophic overfitting" in collapse.why and "epoch 3" in collapse.why
    (steady,) = grade("robust", epochs((0.3, 0.5), (0.4, 0.6), (0.45, 0.65)))
    assert (
        steady.status == PASS and "never fell over 3 epochs (last 45.0%, FGSM 65.0%" in steady.why
    )
    (dip,) = grade("robust", epochs((0.4, 0.6), (0.25, 0.7)))
    assert dip.status == WARN
    (both,) = grade("robust", epochs((0.5, 0.7), (0.1, 0.2)))  # everything fell: degraded
    assert both.status == WARN
    assert grade("robust", [EpochStats(1, 0.1, 0.9, 0.1, 0.9)]) == []  # not watched


def test_the_report_and_the_sanity_checks_show_it() -> None:
    history = epochs((0.4, 0.6), (0.02, 0.95))
    found = checks([], [], {}, 10, histories={"robust": history})
    assert [(c.model, c.name, c.status) for c in found] == [("robust", OVERFITTING, FAIL)]
    m = ModelResult("robust", "small_cnn", 1, 0.9, [], [], history, "trained")
    text = render([m])
    assert "PGD acc (held out)" in text and "2.00%" in text and "95.00%" in text
    assert np.isfinite(history[0].pgd_acc)
