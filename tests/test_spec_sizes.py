"""The sizes a spec asks for are bounded when it is read (harness.spec.sizes): the limit itself
is accepted, one more is one line giving the number and the limit."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import HarnessError
from harness.evasion import eps_grid
from harness.plan import validate
from harness.spec import EvasionSpec, parse_spec
from harness.spec.sizes import (
    MAX_CORRUPTED_IMAGES,
    MAX_EPSILONS,
    MAX_EVASION_STEPS,
    MAX_GRID_CELLS,
    MAX_PROBE_IMAGES,
    MAX_PROBE_STEPS,
)


def _validate(raw: dict[str, Any]) -> None:
    validate(parse_spec({"name": "x", **raw}))


def _eps(n: int) -> list[float]:
    return [i / (2 * MAX_EPSILONS) for i in range(n)]


def _grid(seeds: int) -> dict[str, Any]:
    """A grid of 2 models x ``seeds`` x 3 roles (baseline, 2 defences) x 2 attacks."""
    models = [{"arch": "small_cnn"}, {"arch": "mlp"}]
    return {
        "grid": {"seeds": list(range(seeds)), "models": models},
        "defences": ["jpeg", {"name": "fast_fgsm"}],
        "attacks": ["fgsm", "pgd"],
    }


def test_the_evasion_grid_has_the_steps_validation_counts() -> None:
    assert EvasionSpec(eps_max=0.3, eps_step=0.01).steps == 30  # 0.3 / 0.01 = 29.999999999999996
    assert len(eps_grid(EvasionSpec(eps_max=0.3, eps_step=0.01))) == 30
    step = 1 / MAX_EVASION_STEPS
    assert (
        len(
            eps_grid(parse_spec({"name": "x", "evasion": {"eps_max": 1, "eps_step": step}}).evasion)
        )
        == MAX_EVASION_STEPS
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"evasion": {"eps_step": 1e-9}}, "evasion.eps_step: eps_max / eps_step = 0.1 / 1e-09 gives 100,000,000 steps; at most 1,000"),
        ({"evasion": {"eps_max": 1, "eps_step": 1e-320}}, "gives inf steps; at most 1,000"),
        ({"evasion": {"eps_max": 0.1001, "eps_step": 1e-4}}, "gives 1,001 steps"),
        ({"eps": _eps(MAX_EPSILONS + 1)}, f"eps: {MAX_EPSILONS + 1} epsilons; at most {MAX_EPSILONS}"),
        ({"corruptions": {"n_images": MAX_CORRUPTED_IMAGES // 75 + 1}}, "corruptions.n_images: 15 corruption(s) x 5 severities x 133,334 images gives 10,000,050 corrupted images; at most 10,000,000"),
        (_grid(MAX_GRID_CELLS // 12 + 1), "grid: 2 model(s) x 834 seed(s) x 3 (baseline and defences) x 2 (attacks and corruptions) gives 10,008 cells; at most 10,000"),
        ({"probes": [{"name": "noise", "n_images": MAX_PROBE_IMAGES + 1}]}, "probes[0].n_images: expected at most 1,000,000, got 1000001"),
        ({"probes": [{"name": "minimal", "n_samples": MAX_PROBE_IMAGES + 1}]}, "probes[0].n_samples: expected at most"),
        ({"probes": [{"name": "minimal", "fgsm_steps": MAX_PROBE_STEPS + 1}]}, "probes[0].fgsm_steps: expected at most 10,000"),
        ({"sanity": {"n_samples": MAX_PROBE_IMAGES + 1}}, "sanity.n_samples: expected an integer in [1, 1000000]"),
        ({"evasion": {"n_images": 101}}, "evasion.n_images: expected an integer in [0, 100]"),
    ],
)  # fmt: skip
def test_a_size_past_its_limit_is_one_line_with_both_numbers(raw, message) -> None:
    with pytest.raises(HarnessError) as info:
        _validate(raw)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "raw",
    [
        {"evasion": {"eps_max": 0.1, "eps_step": 1e-4}},
        {"eps": _eps(MAX_EPSILONS)},
        {"corruptions": {"n_images": MAX_CORRUPTED_IMAGES // 75}},
        {"probes": [{"name": "noise", "n_images": MAX_PROBE_IMAGES}]},
        {"probes": [{"name": "minimal", "n_samples": MAX_PROBE_IMAGES, "fgsm_steps": MAX_PROBE_STEPS}]},
        {"sanity": {"n_samples": MAX_PROBE_IMAGES}},
    ],
)  # fmt: skip
def test_a_size_at_its_limit_is_accepted(raw) -> None:
    _validate(raw)


def test_a_grid_at_its_limit_is_counted_as_it_expands() -> None:
    from harness.grid.cells import expand

    spec = parse_spec({"name": "x", **_grid(3)})
    assert len(expand(spec).cells) == 2 * 3 * 3 * 2  # the count the limit is checked against
    parse_spec({"name": "x", **_grid(MAX_GRID_CELLS // 12)})  # 9,996 cells: accepted
