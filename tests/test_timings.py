"""Where the time goes: every attack (per model) and every extra is timed in run.json and the
report, never in results.csv; each extra works on a bounded sample and can be switched off."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import fit_tiny
from torch import nn

from harness import metrics
from harness.api import benchmark
from harness.architectures import ARCHITECTURES
from harness.attacks import ATTACKS, generate
from harness.datasets import load_dataset
from harness.errors import HarnessError
from harness.evasion import _fgsm_probs, smallest_flips
from harness.model_probe import RANDOM_SAMPLES
from harness.provenance import Timer, timed
from harness.report import write_report
from harness.results import RunResult
from harness.results.timings import PARTS, Timing, extras, parts_of, requested_seconds
from harness.spec import AttackSpec, DataSpec, parse_spec

OFF = {
    "sanity": {"enabled": False},
    "weights": {"enabled": False},
    "evasion": {"n_images": 0},
    "gradcam": {"n_images": 2, "attention": False, "examples": False},
}


@pytest.fixture(scope="module")
def digits_net() -> nn.Module:
    """A small_cnn fitted to 300 digits images on raw [0, 1] pixels."""
    data = load_dataset(DataSpec(n_train=300), 0)
    torch.manual_seed(0)
    net = ARCHITECTURES.get("small_cnn").build(data.input_shape, data.num_classes)
    fit_tiny(net, data.x_train[:], data.y_train)  # the lazy split read whole
    return net


def _run(model: nn.Module, **fields) -> RunResult:
    fields = {"evasion": {"n_images": 2}, "gradcam": {"n_images": 2}, "threads": 1} | fields
    return benchmark(model, attacks=["fgsm", "pgd"], eps=[0.0, 0.1], n_test=60, **fields)


@pytest.fixture(scope="module")
def full(digits_net) -> RunResult:
    return _run(digits_net, sanity={"n_samples": 40})


def test_a_part_entered_twice_adds_up_and_nothing_is_timed_outside_a_run() -> None:
    timer = Timer()
    with timed("evasion", "baseline", samples=3):  # no current timer: a no-op
        pass
    with timer.current():
        for samples in (3, 5):
            with timed("sanity.outputs", "baseline", samples=samples):
                pass
        with timed("attack", "baseline", samples=10, name="fgsm"):
            pass
    assert [(t.part, t.model, t.samples, t.name) for t in timer.parts] == [
        ("sanity.outputs", "baseline", 5, ""),
        ("attack", "baseline", 10, "fgsm"),
    ]
    record = timer.record(1.0)
    assert record["total"] == 1.0
    assert [Timing.from_dict(d) for d in record["parts"]] == timer.parts


def test_each_attack_per_model_and_each_extra_is_timed(full, tmp_path) -> None:
    parts = parts_of(full.provenance)
    assert {t.part for t in parts} <= set(PARTS)
    attacks = {(t.name, t.model) for t in parts if t.part == "attack"}
    assert attacks == {("fgsm", "baseline"), ("pgd", "baseline")}
    by_part = {t.part: t for t in parts}
    for part in ("sanity.dlr_gradient", "sanity.unbounded_pgd"):
        assert by_part[part].samples == 40  # the spec's sanity.n_samples
    # the unbounded PGD's first step gives the gradients and outputs at x
    assert not {"sanity.gradients", "sanity.outputs"} & set(by_part)
    assert by_part["sanity.randomness"].samples == min(40, RANDOM_SAMPLES)
    assert by_part["weights"].samples is None
    for part in ("examples", "evasion", "gradcam", "attention"):
        assert by_part[part].samples == 2
    assert by_part["clean"].samples == by_part["attack"].samples == 60
    assert all(t.seconds >= 0 for t in parts)
    assert requested_seconds(parts) == pytest.approx(
        sum(t.seconds for t in parts if t.is_requested)
    )
    assert set(extras(parts)) == {t.label for t in parts if not t.is_requested}
    phases = full.provenance["timings_seconds"]
    assert {"data", "build", "break", "explain", "total"} <= set(phases)
    out = write_report(full, tmp_path / "run")
    assert "seconds" not in (out / "results.csv").read_text()  # timings stay out of the CSV
    recorded = json.loads((out / "run.json").read_text())["provenance"]["timings_seconds"]
    assert [Timing.from_dict(d) for d in recorded["parts"]] == parts
    report = (out / "report.md").read_text()
    section = report.split("## Where the time went")[1].split("## Provenance")[0]
    assert "| attack fgsm | baseline | 60 |" in section
    assert "| sanity.unbounded_pgd | each | 40 |" in section
    assert "**extras**" in section and "share of the requested work's time" in section
    assert "parts" not in report.split("## Provenance")[1]  # the phase table shows phases only


def test_every_extra_can_be_switched_off(digits_net, full) -> None:
    off = _run(digits_net, **OFF)
    parts = {t.part for t in parts_of(off.provenance)}
    assert parts == {"clean", "attack", "gradcam"}
    assert off.sanity_probes == {} and off.evasion == [] and off.attention == []
    assert off.examples == [] and all(m.weight_analysis is None for m in off.models)
    assert full.sanity_probes["baseline"].n == 40 and full.attention and full.examples
    assert off.measurements == full.measurements  # the extras never change the attacks' numbers
    no_pictures = _run(digits_net, **(OFF | {"gradcam": {"n_images": 0}}))
    assert {t.part for t in parts_of(no_pictures.provenance)} == {"clean", "attack"}


def test_corruptions_a_spec_asks_for_are_requested_work_not_an_extra() -> None:
    parts = [
        Timing("clean", "baseline", 1.0, 10),
        Timing("attack", "baseline", 2.0, 10, "fgsm"),
        Timing("corruptions", "baseline", 3.0, 10),
        Timing("gradcam", "baseline", 0.5, 2),
    ]
    assert requested_seconds(parts) == 6.0
    assert extras(parts) == {"gradcam": (0.5, 2)}


def test_the_weight_analysis_takes_the_harness_fit_by_default(full) -> None:
    (model,) = full.models
    assert {row["fit"] for row in model.weight_analysis.layers} == {"harness"}
    assert "fit" not in full.spec.get("weights", {})  # the default leaves run.json's spec as is


def test_the_switches_leave_hashes_unchanged_at_their_defaults() -> None:
    base = {"name": "t", "attacks": ["fgsm"]}
    plain = parse_spec(base)
    explicit = parse_spec(
        base
        | {
            "sanity": {"enabled": True, "n_samples": 256},
            "weights": {"enabled": True},
            "gradcam": {"attention": True, "examples": True},
        }
    )
    assert explicit.digest() == plain.digest() and explicit.to_dict() == plain.to_dict()
    assert "sanity" not in plain.to_dict() and "attention" not in plain.to_dict()["gradcam"]
    changed = parse_spec(base | {"sanity": {"n_samples": 64}})
    assert changed.digest() != plain.digest()
    assert changed.to_dict()["sanity"] == {"enabled": True, "n_samples": 64}


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("sanity", {"enabled": "yes please"}, "sanity.enabled"),
        ("sanity", {"n_samples": 0}, "sanity.n_samples"),
        ("sanity", {"samples": 10}, "sanity.samples"),
        ("weights", {"enabled": 2}, "weights.enabled"),
        ("weights", {"fit": "ww"}, "weights.fit"),
        ("gradcam", {"attention": "no"}, "gradcam.attention"),
        ("sanity", None, "sanity"),
    ],
)
def test_a_bad_switch_is_one_line_naming_the_field(field, value, where) -> None:
    with pytest.raises(HarnessError) as err:
        parse_spec({"name": "t", field: value})
    message = str(err.value)
    assert message.startswith(where) and "\n" not in message


def test_evasion_scores_every_eps_from_one_fgsm_direction(held_out) -> None:
    """The evasion grid costs one gradient: the same probabilities as FGSM run at each eps."""
    _, clf, x, y = held_out
    grid = np.array([0.02, 0.05, 0.1, 0.3])
    fgsm = ATTACKS.get("fgsm")
    params = fgsm.resolve(AttackSpec("fgsm"))
    want = [
        metrics.softmax(clf.predict(generate(clf, fgsm, params, x[:8], y[:8], e))) for e in grid
    ]
    np.testing.assert_allclose(_fgsm_probs(clf, x[:8], y[:8], grid), np.stack(want), atol=1e-6)
    rows = smallest_flips("m", clf, x, y, list(range(8)), grid, ["a", "b", "c"])
    assert [r.index for r in rows] == list(range(8)) and any(r.flip_eps for r in rows)
