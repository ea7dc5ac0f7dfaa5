from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.registry import Registry


def test_typo_gets_did_you_mean_and_lists_names() -> None:
    reg: Registry[int] = Registry("attack")
    reg.register("fgsm")(1)
    reg.register("pgd")(2)
    with pytest.raises(HarnessError) as info:
        reg.get("fgms", "attacks[0].name")
    assert str(info.value) == (
        "attacks[0].name: unknown attack 'fgms'; expected one of: fgsm, pgd (did you mean 'fgsm'?)"
    )
    assert reg.get("pgd") == 2 and list(reg) == ["fgsm", "pgd"]


def test_double_registration_is_refused() -> None:
    reg: Registry[int] = Registry("model")
    reg.register("a")(1)
    with pytest.raises(ValueError, match="twice"):
        reg.register("a")(2)
