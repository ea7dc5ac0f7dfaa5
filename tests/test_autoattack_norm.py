"""AutoAttack is L-inf only here: an L2 AutoAttack is refused in one line, never run as L-inf;
a spec may name an attack's declared norm."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.attacks import ATTACKS
from harness.cli import main
from harness.errors import HarnessError
from harness.spec import AttackSpec

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("implementation", ["art", "reference"])
@pytest.mark.parametrize("norm", ["l2", "L2", "2"])
def test_an_l2_norm_is_refused_saying_l2_is_not_implemented(implementation: str, norm) -> None:
    """``norm: l2`` cannot fall through to the L-inf ensemble: one line names the field, says
    L2 is not implemented for AutoAttack and lists the attacks declared L2 (by capability)."""
    d = ATTACKS.get("autoattack")
    spec = AttackSpec("autoattack", {"implementation": implementation, "norm": norm})
    with pytest.raises(HarnessError) as err:
        d.resolve(spec, "attacks[0]")
    message = str(err.value)
    assert message.startswith("attacks[0].norm: autoattack is implemented for L-inf only; L2 is")
    l2 = sorted(n for n in ATTACKS.names() if ATTACKS.get(n).norm == "l2")
    assert message.endswith(f"(attacks with L2: {', '.join(l2)})") and "pgd_l2" in l2
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("norm", ["linf", "Linf", "L_inf", "inf"])
def test_the_declared_norm_is_accepted_and_changes_nothing(norm: str) -> None:
    d = ATTACKS.get("autoattack")
    assert d.resolve(AttackSpec("autoattack", {"norm": norm})) == d.resolve(
        AttackSpec("autoattack")
    )


def test_an_unknown_norm_names_the_expected_values() -> None:
    with pytest.raises(HarnessError, match=r"^attacks\[1\]\.norm: expected linf or l2, got 'l1'$"):
        ATTACKS.get("pgd").resolve(AttackSpec("pgd", {"norm": "l1"}), "attacks[1]")


def test_an_l2_attack_accepts_l2_and_refuses_linf() -> None:
    d = ATTACKS.get("pgd_l2")
    assert d.resolve(AttackSpec("pgd_l2", {"norm": "L2"})) == d.resolve(AttackSpec("pgd_l2"))
    with pytest.raises(HarnessError, match="pgd_l2 is implemented for L2 only; L-inf is not"):
        d.resolve(AttackSpec("pgd_l2", {"norm": "linf"}))


def test_the_only_autoattack_is_declared_linf() -> None:
    """The report and run.json give each attack's declared norm: no ensemble claims L2."""
    assert ATTACKS.get("autoattack").norm == "linf"
    ensembles = [ATTACKS.get(n) for n in ATTACKS.names() if ATTACKS.get(n).ensemble]
    assert [d.name for d in ensembles if d.norm != "linf"] == []


def test_the_cli_refuses_an_l2_autoattack_with_exit_2(tmp_path, capsys) -> None:
    text = (ROOT / "benchmarks" / "digits_fgsm.yaml").read_text()
    spec = tmp_path / "l2.yaml"
    spec.write_text(text.replace("  - fgsm\n", "  - {name: autoattack, norm: l2}\n", 1))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith(
        f"error: {spec}: attacks[0].norm: autoattack is implemented"
    )
    assert len(err.strip().splitlines()) == 1
