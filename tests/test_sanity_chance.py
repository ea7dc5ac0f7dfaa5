"""The two chance levels of the probe checks: each named for what it means, from one function."""

from __future__ import annotations

from harness.probe_checks import TRAINED, UNBOUNDED, best_guess, probe_checks, uniform_chance
from harness.results import FAIL, PASS, ModelProbe


def _probe(**changes: object) -> ModelProbe:
    fields = dict(
        n=200, zero_grad_share=0.0, nonfinite_grad_share=0.0, outputs_probabilities=False,
        min_output=-3.0, max_row_sum_error=2.0, deterministic=True, max_output_diff=0.0,
        unbounded_eps=1.0, unbounded_steps=20, unbounded_accuracy=0.0, num_classes=10,
        clean_accuracy=0.9, majority_share=0.125,
    )  # fmt: skip
    return ModelProbe(**(fields | changes))


def _why(probe: ModelProbe, name: str) -> tuple[str, str]:
    (check,) = probe_checks("baseline", probe, 10, name)
    return check.status, check.why


def test_each_check_names_its_own_level() -> None:
    _, trained = _why(_probe(), TRAINED)
    _, unbounded = _why(_probe(), UNBOUNDED)
    assert "best constant guess 12.5%" in trained
    assert "uniform chance 1/10 = 10.0%" in unbounded
    assert "chance 12.5%" not in trained + unbounded  # no bare "chance" meaning two things


def test_levels() -> None:
    assert best_guess(10, 0.125) == 0.125 and best_guess(10, 0.05) == 0.1
    assert best_guess(10, None) == 0.1 and uniform_chance(4) == 0.25


def test_imbalance_does_not_loosen_the_unbounded_bar() -> None:
    """90% of the probe in one class: 50% left after an unbounded attack is still a FAIL."""
    status, _ = _why(_probe(majority_share=0.9, unbounded_accuracy=0.5), UNBOUNDED)
    assert status == FAIL
    status, _ = _why(_probe(majority_share=0.9, clean_accuracy=0.9), TRAINED)
    assert status == FAIL  # scoring what always guessing the majority class scores
    assert _why(_probe(), TRAINED)[0] == PASS
