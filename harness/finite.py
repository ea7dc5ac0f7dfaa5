"""NaN or inf where a run counts numbers stops it, with one line naming the stage.

Validation keeps NaN and inf out of a spec, but a model or an attack can still make them (an
overflow, a step divided by a zero gradient). Counted as if they were numbers they pass silently:
a NaN image is "misclassified", a NaN norm drops out of a mean, and the report shows a strong
attack. So adversarial examples, predictions and metrics are checked where they are produced
(``harness.attacks.generate``, ``harness.sweep``) before anything counts them.
"""

from __future__ import annotations

import numpy as np

from harness.errors import HarnessError


def require_finite(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` unchanged when every one is finite, else one HarnessError line: ``what`` (the
    stage and the array, e.g. "fgsm at eps 0.1: the adversarial examples") and how many."""
    bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
    if bad:
        raise HarnessError(
            f"{what} hold NaN or inf ({bad:,} of {np.size(values):,} values); the run stops "
            "rather than count them"
        )
    return values
