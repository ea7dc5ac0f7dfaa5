"""Weights are never trusted blindly: SHA-256 in the metadata, finite values, retrain on a bad cache."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from harness import checkpoints
from harness.errors import HarnessError
from harness.report import section_provenance
from harness.runner import run
from harness.spec import parse_spec
from harness.weights import WeightRecorder, analyse

pytestmark = pytest.mark.usefixtures("one_thread")

# One epoch on 60 test digits, one attack, no pictures: a run of a few seconds.
SPEC = {
    "name": "integrity",
    "threads": 1,
    "dataset": {"name": "digits", "n_test": 60},
    "model": {"arch": "small_cnn", "train": {"epochs": 1}},
    "attacks": ["fgsm"],
    "eps": [0, 0.1],
    "defence": None,
    "evasion": {"n_images": 1},
    "gradcam": {"n_images": 0},
}


def _cached_file(models: Path) -> Path:
    (path,) = models.rglob("baseline-*.pt")
    return path


def _nudge_a_float(path: Path) -> None:
    """Change one weight inside the file's tensor data; the file stays loadable by torch."""
    state = torch.load(path, weights_only=True)
    # two floats: bytes unique in the file
    value = state["net.classifier.3.weight"].reshape(-1)[:2].numpy().tobytes()
    data = path.read_bytes()
    assert data.count(value) == 1
    changed = (torch.frombuffer(bytearray(value), dtype=torch.float32) + 1.0).numpy().tobytes()
    path.write_bytes(data.replace(value, changed))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    return run(parse_spec(SPEC), models_dir=models), models


def test_a_save_records_the_files_sha256(first_run) -> None:
    result, models = first_run
    path = _cached_file(models)
    meta = json.loads(checkpoints.meta_path(path).read_text())
    assert meta[checkpoints.HASH_KEY] == checkpoints.sha256(path)
    assert result.provenance["weights_sha256"] == {"baseline": meta[checkpoints.HASH_KEY]}
    assert f"| baseline | {meta[checkpoints.HASH_KEY]} |" in section_provenance(result)


def test_a_corrupted_cache_is_retrained_and_gives_the_same_numbers(
    first_run, tmp_path, caplog
) -> None:
    result, models = first_run
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    path = _cached_file(copy)
    _nudge_a_float(path)
    torch.load(path, weights_only=True)  # still loadable: only the hash tells
    with caplog.at_level(logging.WARNING, logger="harness.checkpoints"):
        again = run(parse_spec(SPEC), models_dir=copy)
    assert any("retraining" in r.message and path.name in r.message for r in caplog.records)
    assert again.models[0].training == "trained"
    assert again.measurements == result.measurements
    meta = json.loads(checkpoints.meta_path(path).read_text())
    assert meta[checkpoints.HASH_KEY] == checkpoints.sha256(path)  # replaced, with its new hash
    retrained = torch.load(path, weights_only=True)
    original = torch.load(_cached_file(models), weights_only=True)
    assert all(torch.equal(retrained[k], v) for k, v in original.items())


def test_an_intact_cache_is_reused(first_run) -> None:
    result, models = first_run
    again = run(parse_spec(SPEC), models_dir=models)
    assert again.models[0].training.startswith("reused")
    assert again.measurements == result.measurements


def test_given_weights_without_metadata_have_their_hash_in_provenance(first_run, tmp_path) -> None:
    result, models = first_run
    given = tmp_path / "mine.pt"
    shutil.copyfile(_cached_file(models), given)
    spec = parse_spec({**SPEC, "model": {"arch": "small_cnn", "weights": str(given)}})
    loaded = run(spec, models_dir=tmp_path / "unused")
    assert loaded.provenance["weights_sha256"] == {"baseline": checkpoints.sha256(given)}
    assert loaded.measurements == result.measurements
    assert not (tmp_path / "unused").exists()


def test_given_weights_whose_metadata_hash_differs_are_refused(tmp_path) -> None:
    path = tmp_path / "w.pt"
    checkpoints.save(nn.Linear(2, 2), path, {})
    checkpoints.verify(path)
    torch.save(nn.Linear(2, 2).state_dict(), path)  # replaced, metadata left stale
    with pytest.raises(HarnessError, match=r"w\.pt does not match the SHA-256 recorded in w\.json"):
        checkpoints.verify(path)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, bad: float) -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    with torch.no_grad():
        net[1].bias[0] = bad
    path = tmp_path / "w.pt"
    torch.save(net.state_dict(), path)
    with pytest.raises(HarnessError, match=r"w\.pt has non-finite values .* in '1\.bias'"):
        checkpoints.load_state(path)


def test_weight_analysis_of_nan_weights_says_so_instead_of_failing() -> None:
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(144, 10))
    with torch.no_grad():
        net[0].weight[0, 0, 0, 0] = float("nan")
    recorder = WeightRecorder()
    recorder(0, net)
    conv, linear = analyse(net, recorder, (1, 8, 8)).layers
    assert conv["spectral_norm"] is None and "non-finite" in conv["note"]
    assert linear["spectral_norm"] > 0 and linear["esd_counts"]
    assert sum(recorder.epochs[0]["layers"]["0"]["weight"]["counts"]) == 35  # 36 minus the NaN


def test_a_cached_file_with_nan_is_not_used_even_when_its_hash_matches(tmp_path, caplog) -> None:
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight[0, 0] = float("nan")
    path = tmp_path / "m.pt"
    checkpoints.save(net, path, {"key": "k"})
    with caplog.at_level(logging.WARNING, logger="harness.checkpoints"):
        assert checkpoints.cached_state(path, checkpoints.load_meta(path) or {}) is None
    assert "non-finite values (NaN or inf) in 'weight'; expected finite weights; retraining" in (
        caplog.text
    )


def test_a_cache_written_before_hashes_is_still_used(tmp_path) -> None:
    path = tmp_path / "m.pt"
    checkpoints.save(nn.Linear(2, 2), path, {"key": "k"})
    legacy = {"key": "k"}  # no "sha256": written by an older harness
    loaded = checkpoints.cached_state(path, legacy)
    assert loaded is not None and loaded[1] == checkpoints.sha256(path)
