"""Epoch checkpoints (``harness.epoch_checkpoints``): a training stopped in epoch k resumes at
epoch k and ends with the weights of a training never stopped, tensor for tensor.

Trainings are stopped in the process by an exception raised in epoch k (after its measurement,
before its checkpoint), as Ctrl-C does; one test stops a real run with SIGTERM and SIGKILL,
which needs a child process. Tiny small_cnn models on the embedded digits, one thread.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pausing
import pytest
import torch
import yaml

from harness import console, epoch_checkpoints
from harness.cli import CACHED, main
from harness.errors import HarnessError
from harness.models import Trained, build_models
from harness.plan import validate
from harness.prepare import prepare
from harness.results import EpochStats, ModelResult
from harness.spec import parse_spec

BASE: dict[str, Any] = {
    "name": "ckpt",
    "seed": 0,
    "threads": 1,
    "dataset": {"name": "digits", "n_train": 300, "n_test": 60},
    "model": {"arch": "small_cnn", "train": {"epochs": 4, "batch_size": 64, "checkpoints": True}},
    "attacks": ["fgsm"],
    "eps": [0, 0.1],
    "defences": [],
    "evasion": {"n_images": 0},
    "gradcam": {"n_images": 0},
}
# SGD with momentum, a cosine schedule and crop + flip: optimizer, schedule and both generators
PLAIN = {"optimizer": "sgd", "lr": 0.05, "schedule": "cosine", "augment": "crop_flip"}
BEST = {"lr": 0.003, "schedule": "onecycle", "keep": "best"}  # Adam, one-cycle, the best epoch
# ART's AdversarialTrainer (FGSM, half of each batch), with the overfitting watch's best epoch
AT = {"name": "adversarial_training", "attack": "fgsm", "eps": 0.15, "keep": "best_pgd"}
AT_TRAIN = {"epochs": 3, "batch_size": 64, "checkpoints": True}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the spec's threads: the weights cache keys on the thread count
    yield
    torch.set_num_threads(before)


def _spec(train: dict[str, Any] | None = None, seed: int = 0, defence: dict | None = None):
    raw = yaml.safe_load(yaml.safe_dump(BASE))  # a deep copy
    raw["seed"] = seed
    raw["model"]["train"] |= train or {}
    raw["defences"] = [defence | {"train": AT_TRAIN}] if defence else []
    return raw


def _build(raw: dict[str, Any], models: Path) -> list[Trained]:
    spec = parse_spec(raw)
    data, split = prepare(spec)
    return build_models(spec, validate(spec), data, split, models)


def _stopped(raw: dict[str, Any], models: Path, desc: str, epoch: int, mp: pytest.MonkeyPatch):
    """Build, stopping the training ``desc`` in ``epoch`` with KeyboardInterrupt (Ctrl-C); the
    interrupt, with what it says resumes."""
    line = console.line

    def stop(text: str) -> None:  # an epoch's line: after its measurement, before its checkpoint
        line(text)
        if text.startswith(f"{desc} epoch {epoch}/"):
            raise KeyboardInterrupt

    mp.setattr(console, "line", stop)
    with pytest.raises(KeyboardInterrupt) as info:
        _build(raw, models)
    mp.setattr(console, "line", line)
    return info.value


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _table(history: list[EpochStats]) -> list[tuple]:
    """The per-epoch table without the seconds each epoch took."""
    return [(e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.kept, e.pgd_acc)
            for e in history]  # fmt: skip


def _checkpoints(models: Path) -> list[Path]:
    return sorted(models.rglob(f"*{epoch_checkpoints.SUFFIX}"))


def _resumed_equals_uninterrupted(
    raw: dict[str, Any], tmp: Path, which: str, desc: str, epoch: int, mp: pytest.MonkeyPatch
) -> None:
    """Stop the training of ``which`` (the cache's name: baseline or the defence's) in
    ``epoch``, rerun: it resumes at ``epoch`` and ends as a training never stopped."""
    i = 0 if which == "baseline" else 1
    reference = _build(raw, tmp / "reference")[i]
    stop = _stopped(raw, tmp / "models", desc, epoch, mp)
    assert stop.resumes == f"training of {which} resumes at epoch {epoch}"
    assert len(_checkpoints(tmp / "models")) == 1
    rerun = _build(raw, tmp / "models")[i]
    assert (rerun.resumed_at, rerun.training) == (epoch, "trained")
    _same_weights(rerun.core or rerun.model, reference.core or reference.model)
    assert _table(rerun.history) == _table(reference.history)
    assert rerun.recorder.epochs == reference.recorder.epochs  # weight histograms
    assert not _checkpoints(tmp / "models"), "the checkpoint outlived the cached weights"


def test_plain_training_resumes_at_the_stopped_epoch(tmp_path: Path, monkeypatch) -> None:
    raw = _spec(PLAIN)
    _resumed_equals_uninterrupted(raw, tmp_path, "baseline", "baseline", 3, monkeypatch)


def test_the_fast_recipe_resumes_with_its_lookahead_weights(tmp_path: Path, monkeypatch) -> None:
    fast = {"optimizer": "sgd", "lr": 0.05, "schedule": "triangular", "augment": "flip_translate"}
    raw = _spec(fast | {"label_smoothing": 0.2, "lookahead": 3})
    _resumed_equals_uninterrupted(raw, tmp_path, "baseline", "baseline", 3, monkeypatch)


def test_keep_best_resumes_with_its_best_epoch(tmp_path: Path, monkeypatch) -> None:
    raw = _spec(BEST)
    _resumed_equals_uninterrupted(raw, tmp_path, "baseline", "baseline", 4, monkeypatch)
    reference = _build(raw, tmp_path / "reference")[0]
    assert sum(e.kept for e in reference.history) == 1


def test_adversarial_training_resumes_at_the_stopped_epoch(tmp_path: Path, monkeypatch) -> None:
    raw = _spec({"epochs": 2}, defence=AT)
    desc = "adversarial training"
    _resumed_equals_uninterrupted(raw, tmp_path, "adversarial_training", desc, 2, monkeypatch)


PGD = {"eps": 0.1, "step_size": 0.05, "steps": 2}
OTHER_TRAINERS = {  # name: (defence, its table's name)
    "madry_pgd": ({"name": "madry_pgd"} | PGD, "madry pgd"),  # ART's trainer, harness's PGD
    "trades": ({"name": "trades"} | PGD, "trades"),
    "fast_fgsm": ({"name": "fast_fgsm", "eps": 0.1}, "fast fgsm"),  # a numpy Generator
    "purifier": ({"name": "purifier"}, "purifier"),  # the harness's own loop
    "randomized_smoothing": ({"name": "randomized_smoothing"}, "randomized smoothing"),
}


@pytest.mark.parametrize("name", OTHER_TRAINERS)
def test_every_trainer_resumes_at_the_stopped_epoch(name: str, tmp_path: Path, monkeypatch) -> None:
    defence, desc = OTHER_TRAINERS[name]
    raw = _spec({"epochs": 1}, defence=defence)
    _resumed_equals_uninterrupted(raw, tmp_path, name, desc, 2, monkeypatch)


def test_a_checkpoint_of_another_seed_is_never_resumed(tmp_path: Path, monkeypatch) -> None:
    models = tmp_path / "models"
    _stopped(_spec(PLAIN, seed=0), models, "baseline", 2, monkeypatch)
    (mine,) = _checkpoints(models)
    _stopped(_spec(PLAIN, seed=1), models, "baseline", 3, monkeypatch)
    (other,) = [p for p in _checkpoints(models) if p != mine]  # named by its own key
    other.replace(mine)  # seed 1's state under seed 0's name: refused by the key it holds
    (rerun,) = _build(_spec(PLAIN, seed=0), models)
    (reference,) = _build(_spec(PLAIN, seed=0), tmp_path / "reference")
    assert rerun.resumed_at is None
    _same_weights(rerun.model, reference.model)


def test_a_damaged_checkpoint_is_trained_over(tmp_path: Path, monkeypatch, caplog) -> None:
    models = tmp_path / "models"
    _stopped(_spec(PLAIN), models, "baseline", 3, monkeypatch)
    (path,) = _checkpoints(models)
    path.write_bytes(path.read_bytes()[:1000])  # a file cut short, e.g. by a full disk
    (rerun,) = _build(_spec(PLAIN), models)
    assert rerun.resumed_at is None and len(rerun.history) == 4
    assert "unreadable" in caplog.text and not _checkpoints(models)


def test_a_checkpoint_that_does_not_fit_is_one_line(tmp_path: Path, monkeypatch) -> None:
    models = tmp_path / "models"
    _stopped(_spec(PLAIN), models, "baseline", 3, monkeypatch)
    (path,) = _checkpoints(models)
    state = torch.load(path, weights_only=True)
    state["model"].pop(next(iter(state["model"])))  # its own key, another network's weights
    torch.save(state, path)
    with pytest.raises(HarnessError, match=r"does not fit its training \(.*\); delete it"):
        _build(_spec(PLAIN), models)


def test_auto_leaves_a_short_training_without_checkpoints(tmp_path: Path, monkeypatch) -> None:
    seen: list[list[Path]] = []
    line = console.line

    def watch(text: str) -> None:
        line(text)
        seen.append(_checkpoints(tmp_path))

    monkeypatch.setattr(console, "line", watch)
    raw = _spec({"checkpoints": "auto"})  # 4 epochs x 270 images: well under a few minutes
    _build(raw, tmp_path / "models")
    assert len(seen) == 4 and not any(seen)


def test_a_forced_off_training_reads_no_checkpoint(tmp_path: Path, monkeypatch) -> None:
    models = tmp_path / "models"
    _stopped(_spec(PLAIN), models, "baseline", 3, monkeypatch)
    (rerun,) = _build(_spec(PLAIN | {"checkpoints": False}), models)  # the same weights key
    assert rerun.resumed_at is None


@pytest.mark.parametrize("value", ["sometimes", 1, None])
def test_a_bad_checkpoints_value_is_one_line(value, tmp_path: Path, capsys) -> None:
    raw = _spec({"checkpoints": value})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model.train.checkpoints: expected auto, true or false" in err[0]


def test_the_setting_changes_no_key_or_hash() -> None:
    on, off = parse_spec(_spec({"checkpoints": True})), parse_spec(_spec({"checkpoints": False}))
    auto = parse_spec(_spec({"checkpoints": "auto"}))
    assert on.digest() == off.digest() == auto.digest()
    assert repr(on.model.train) == repr(auto.model.train)  # the weights cache's key
    assert "checkpoints" not in auto.to_dict()["model"]["train"]  # at its default: as before
    assert on.to_dict()["model"]["train"]["checkpoints"] is True  # recorded when set


def test_run_json_records_the_resumed_epoch() -> None:
    model = ModelResult("baseline", "small_cnn", 1, 0.5, [], [], resumed_at=3)
    plain = ModelResult("robust", "small_cnn", 1, 0.5, [], [])
    from harness.results import DataSummary, RunResult

    data = DataSummary("digits")
    d = RunResult("x", {}, 0, data, [model, plain], [], []).to_dict()
    assert d["models"][0]["resumed_at"] == 3
    assert "resumed_at" not in d["models"][1]  # run.json of a training not resumed: as before
    assert RunResult.from_dict(d).models[0].resumed_at == 3


# ---------------------------------------------------------------- a real run, stopped by a signal


@pytest.fixture(scope="module")
def forkserver() -> Iterator[Any]:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["harness.cli", "harness.runner"])
    with pytest.MonkeyPatch.context() as mp:  # as tests/test_interrupts.py: an empty __main__
        mp.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
        yield ctx


def _start(ctx: Any, root: Path, log: str, pause: str = "") -> Any:
    """``harness run spec.yaml`` in ``root``, paused at ``pause`` if given."""
    argv = ["run", "spec.yaml", "--out", str(root / "out"), "--models-dir", "models"]
    (root / "spec.yaml").write_text(yaml.safe_dump(_spec(PLAIN)), encoding="utf-8")
    proc = ctx.Process(
        target=pausing.child, args=(argv, str(root), (pause, str(root)), str(root / log))
    )
    proc.start()
    return proc


def _finished(ctx: Any, root: Path, log: str) -> dict[str, Any]:
    """A whole run in ``root``: its run.json, results.csv bytes and cached weights."""
    proc = _start(ctx, root, log)
    proc.join(300)
    assert proc.exitcode == 0, (root / log).read_text(encoding="utf-8")
    (weights,) = (root / "models").rglob("*.pt")
    return {
        "run": json.loads((root / "out" / "run.json").read_text(encoding="utf-8")),
        "csv": (root / "out" / "results.csv").read_bytes(),
        "weights": torch.load(weights, weights_only=True),
        "log": (root / log).read_text(encoding="utf-8"),
    }


@pytest.fixture(scope="module")
def uninterrupted(forkserver: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _finished(forkserver, tmp_path_factory.mktemp("uninterrupted"), "log.txt")


def _signalled(ctx: Any, root: Path, sig: signal.Signals, epoch: int) -> tuple[int, str]:
    """``harness run`` paused at the start of the baseline's ``epoch``, then sent ``sig``."""
    phase = f"train-baseline-epoch-{epoch}"
    proc = _start(ctx, root, "stopped.txt", phase)
    marker = root / f"{phase}.paused"
    for _ in range(1800):
        if marker.exists() or not proc.is_alive():
            break
        proc.join(0.1)
    assert marker.exists(), (root / "stopped.txt").read_text(encoding="utf-8")
    marker.unlink()
    os.kill(proc.pid, sig)
    proc.join(60)
    return proc.exitcode, (root / "stopped.txt").read_text(encoding="utf-8", errors="replace")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_signalled_run_says_what_resumes_and_resumes_there(
    sig: signal.Signals, forkserver: Any, uninterrupted: dict[str, Any], tmp_path: Path
) -> None:
    code, log = _signalled(forkserver, tmp_path, sig, 3)
    if sig == signal.SIGTERM:
        assert code == 128 + sig
        assert "Traceback" not in log
        resumes = "training of baseline resumes at epoch 3"
        assert f"error: interrupted (SIGTERM); {resumes}; {CACHED}" in log.splitlines(), log
    else:
        assert code == -signal.SIGKILL
    assert len(_checkpoints(tmp_path / "models")) == 1
    rerun = _finished(forkserver, tmp_path, "rerun.txt")
    assert "baseline: resumed at epoch 3/4" in rerun["log"]
    assert "baseline epoch 2/4" not in rerun["log"]
    assert rerun["run"]["models"][0]["resumed_at"] == 3
    assert "resumed_at" not in uninterrupted["run"]["models"][0]
    assert rerun["csv"] == uninterrupted["csv"]
    ours, theirs = rerun["weights"], uninterrupted["weights"]
    assert list(ours) == list(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert not _checkpoints(tmp_path / "models")
