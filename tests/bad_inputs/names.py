"""Bad registry names in specs: caught by validation, before any data is read."""

from __future__ import annotations

from bad_inputs import Case, spec

CASES = [
    Case("unknown_attack", spec("name: x\nattacks: [fgsn]\n"), "attacks[0].name"),
    Case(
        "attack_typo_hint", spec("name: x\nmodel: {arch: small_cn}\n"), "did you mean 'small_cnn'"
    ),
    Case("unknown_dataset", spec("name: x\ndataset: {name: digitz}\n"), "dataset.name"),
    Case("unknown_defence", spec("name: x\ndefence: {name: adv}\n"), "defence.name"),
    Case("eps_not_a_number", spec("name: x\neps: [0, big]\n"), "eps[1]"),
    Case(
        "unknown_attack_param",
        spec("name: x\nattacks: [{name: fgsm, steps: 3}]\n"),
        "attacks[0].steps",
    ),
]
