"""The report's ``## Spec`` says what run.json's spec leaves out, and that a zoo model's
``model.train`` is unused."""

from __future__ import annotations

from harness.report.sections import spec as section
from harness.results import DataSummary, RunResult
from harness.spec.sections import SanitySpec


def _result(spec: dict) -> RunResult:
    data = DataSummary("digits", class_names=["a", "b"], input_shape=[1, 8, 8])
    return RunResult("t", {"name": "t", "version": 1, **spec}, 0, data, [], [], [])


def test_defaults_left_out_are_named() -> None:
    text = section.markdown(_result({"model": {"arch": "small_cnn"}}))
    assert f"`sanity` (probes on, {SanitySpec().n_samples} samples)" in text
    assert "`device: auto`" in text and "`amp: false`" in text
    assert "never trained" not in text
    kept = section.markdown(_result({"sanity": {"enabled": False}, "device": "cpu"}))
    assert "`sanity` (probes" not in kept and "`device: auto`" not in kept


def test_zoo_model_train_is_unused() -> None:
    text = section.markdown(_result({"model": {"zoo": "torchvision", "train": {"epochs": 5}}}))
    assert "never trained, so `model.train` below is not used" in text
