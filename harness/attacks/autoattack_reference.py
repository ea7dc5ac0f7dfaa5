"""AutoAttack as fra31/auto-attack's own code runs it (``implementation: reference``).

Croce & Hein 2020, arXiv:2003.01690; the code is the ``pyautoattack`` package (the harness's
optional extra ``reference``). It runs on the harness's wrapped model as it is: [0, 1] pixels
in (normalization inside the model), logits out, eval mode, on the model's own device. The
parts run one at a time through the reference's ``run_standard_evaluation`` (each on the
samples every earlier part failed on, in batches of ``batch_size``, exactly as its full loop
does) so that what each part broke can be counted.

Where the run differs from calling the package by hand, and why:

- pyautoattack 0.2.0 imports ``torch.autograd.gradcheck.zero_gradients``, removed from torch in
  1.9; ``_load`` puts back a function with the same effect (zero the input's gradient) first.
- the reference's targeted parts pick their targets as the k-th largest logit; with fewer
  than 10 classes they get ``num_classes - 1`` targets, and its targeted DLR loss reads the
  4th-largest logit, so a model with fewer than 4 classes is refused.
- the reference reseeds torch's global generator; it runs inside ``torch.random.fork_rng`` so
  nothing after it sees a changed generator.
- the norm is the registered attack's (``autoattack``: "Linf", ``autoattack_l2``: "L2"); the
  reference's versions run the same parts in both.

Here: whether the package is there and what it runs (light, for validation and the report);
the attack itself is ``harness.attacks.autoattack_fra31``, imported when one is built.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from harness.attacks.autoattack_parts import n_targets
from harness.errors import HarnessError

PACKAGE = "pyautoattack"  # PyPI name; it installs the module ``autoattack``
EXTRA = "reference"  # pip install "robustness-harness[reference]"
RUNS = {  # the reference's names of each version's parts, in order
    "standard": ("apgd-ce", "apgd-t", "fab-t", "square"),
    "plus": ("apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"),  # 5 restarts untargeted
    "rand": ("apgd-ce", "apgd-dlr"),  # its set_version gives APGD eot_iter 20
}
MIN_CLASSES = 4  # the reference's targeted DLR loss reads the 4th-largest logit
NORMS = {"linf": "Linf", "l2": "L2"}  # the harness's norm -> the reference's name


def available() -> bool:
    """Whether fra31's package is importable."""
    return importlib.util.find_spec("autoattack") is not None


def require(where: str) -> None:
    """Refuse ``implementation: reference`` when the package is missing, naming the extra."""
    if not available():
        raise HarnessError(
            f"{where}: 'reference' needs fra31's AutoAttack, which is not installed; "
            f'expected pip install "robustness-harness[{EXTRA}]" (package {PACKAGE})'
        )


def describe(params: dict[str, Any], num_classes: int) -> list[str]:
    """What the reference runs for these parameters, one line a part."""
    iters, targets = params["apgd_iter"], n_targets(params, num_classes)
    ref = "fra31/auto-attack's code"
    if params["version"] == "rand":
        eot = "EoT 20; rand version: the model is randomized"
        return [f"APGD-CE ({iters} iter, {eot}; {ref})", f"APGD-DLR ({iters} iter, {eot}; {ref})"]
    targeted = [
        f"APGD-T DLR ({iters} iter, {targets} targets, 1 restart each; {ref})",
        f"FAB-T ({params['fab_iter']} iter, {targets} targets, 1 restart each; {ref})",
    ]
    square = f"Square ({params['square_queries']} queries, 1 restart, p_init 0.8; {ref})"
    if params["version"] == "plus":
        return [
            f"APGD-CE ({iters} iter, 5 restarts; {ref})",
            f"APGD-DLR ({iters} iter, 5 restarts; {ref})",
            f"FAB ({params['fab_iter']} iter, 5 restarts, untargeted; {ref})",
            square,
            *targeted,
        ]
    return [f"APGD-CE ({iters} iter, 1 restart; {ref})", targeted[0], targeted[1], square]
