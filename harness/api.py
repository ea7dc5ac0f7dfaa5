"""The Python API: benchmark any ``nn.Module`` that returns logits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from harness.results import RunResult
from harness.spec import parse_spec


def benchmark(
    model: nn.Module,
    dataset: str = "digits",
    attacks: Sequence[str | dict[str, Any]] = ("fgsm",),
    eps: Sequence[float | str] = (0.0, 0.05, 0.1, 0.2),
    *,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    root: str | None = None,
    n_test: int | None = None,
    seed: int = 0,
    name: str = "custom",
    device: str = "auto",
    builder: str | None = None,
    **spec_fields: Any,
) -> RunResult:
    """Break a user's model: clean accuracy, then every attack at every eps (pixel units).

    ``model`` takes inputs normalized with ``mean``/``std`` (None: raw [0, 1] pixels) and returns
    logits; the harness puts the normalization in front of it, so eps stays in [0, 1] units.
    ``device``: auto | cpu | cuda | cuda:N | mps (``harness.device``); the model is moved there.
    ``builder``: ``"path/to/file.py:function"`` that builds the same network (a class taking no
    arguments, or ``input_shape``/``num_classes``, works too). With it the model's weights are
    saved with the run, so ``harness app`` can rebuild it for its Upload and Attack views;
    without it the app shows the run's results only.
    Extra keyword arguments are spec fields (e.g. ``evasion={"n_images": 0}``).
    Returns the same ``RunResult`` as a spec run; ``harness.report.write_report`` renders it.
    """
    raw: dict[str, Any] = {
        "name": name,
        "seed": seed,
        "dataset": {"name": dataset, "root": root, "n_test": n_test},
        "model": {"arch": None, "builder": builder, "mean": mean, "std": std},
        "attacks": list(attacks),
        "eps": list(eps),
        "defence": None,
        "device": device,
        **spec_fields,
    }
    from harness.runner import run  # heavy imports only when used

    return run(parse_spec(raw), model=model)
