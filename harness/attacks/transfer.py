"""Transfer attack (Papernot et al. 2016): crafted on a surrogate model, evaluated on the others."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.attacks.base import ATTACKS, attack
from harness.params import expect
from harness.spec import AttackSpec

if TYPE_CHECKING:
    from art.estimators.classification import PyTorchClassifier


def _transfer_check(params: dict[str, Any], where: str) -> None:
    expect(
        isinstance(params["source"], str),
        where,
        "source",
        params["source"],
        "a model role such as baseline",
    )
    base = ATTACKS.get(str(params["attack"]), f"{where}.attack")
    expect(
        not base.transfer and base.norm == "linf",
        where,
        "attack",
        base.name,
        "an L-inf attack",
    )
    expect(isinstance(params["params"], dict), where, "params", params["params"], "a mapping")
    base.resolve(AttackSpec(base.name, params["params"]), f"{where}.params")


@attack(
    "transfer",
    norm="linf",
    defaults={"source": "baseline", "attack": "pgd", "params": {}, "seed": 0},
    check=_transfer_check,
    box="black",  # the evaluated model is only queried; its gradients are never used
    transfer=True,
    draws="base",  # as the attack it crafts with
)
def transfer(classifier: PyTorchClassifier, eps: float, params: dict[str, Any]) -> Any:
    """Transfer attack (Papernot et al. 2016, "Transferability in Machine Learning"), L-inf.

    Adversarial examples are crafted with ``attack`` (its own ``params``) on the *surrogate*
    model named by ``source`` (a model of the same run: "baseline" or "robust") and evaluated on
    every other model of the run; the harness's sweep hands this factory the surrogate's
    classifier.
    Paper: Papernot, McDaniel, Goodfellow 2016, arXiv:1605.07277.
    Norm: L-inf (the base attack's); eps in pixel units.
    Arguments: source ("baseline"): the surrogate's role; attack ("pgd"): any registered L-inf
    attack but transfer; params ({}): the base attack's parameters; seed (0): seeds numpy for
    the base attack's random start.
    Input: pixels in [0, 1]; untargeted, true labels.
    """
    base = ATTACKS.get(str(params["attack"]))
    return base.make(classifier, eps, base.resolve(AttackSpec(base.name, params["params"])))
