"""AutoAttack's norms: ``autoattack`` is L-inf and ``autoattack_l2`` L2, each refusing the other's
norm in one line (never running in the wrong one) and naming the attack that has it; L1 is
refused in one line; a spec may name an attack's declared norm, and a spec's norm picks the
member of the attack's family declared for it (``{name: autoattack, norm: l2}``)."""

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
def test_an_l2_norm_on_autoattack_is_refused_naming_autoattack_l2(
    implementation: str, norm
) -> None:
    """``norm: l2`` cannot fall through to the L-inf ensemble: one line names the field, says
    the attack is L-inf only and lists the attacks declared L2 (by capability), the L2
    ensemble among them."""
    d = ATTACKS.get("autoattack")
    spec = AttackSpec("autoattack", {"implementation": implementation, "norm": norm})
    with pytest.raises(HarnessError) as err:
        d.resolve(spec, "attacks[0]")
    message = str(err.value)
    assert message.startswith("attacks[0].norm: autoattack is implemented for L-inf only; L2 is")
    l2 = sorted(n for n in ATTACKS.names() if ATTACKS.get(n).norm == "l2")
    assert message.endswith(f"(attacks with L2: {', '.join(l2)})") and "autoattack_l2" in l2
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


def test_each_autoattack_declares_its_norm_and_the_same_parameters() -> None:
    """The report and run.json give each attack's declared norm."""
    linf, l2 = ATTACKS.get("autoattack"), ATTACKS.get("autoattack_l2")
    assert (linf.norm, l2.norm) == ("linf", "l2")
    assert linf.defaults == l2.defaults and linf.effort == l2.effort
    ensembles = {n for n in ATTACKS.names() if ATTACKS.get(n).ensemble}
    assert ensembles == {"autoattack", "autoattack_l2"}


def test_the_l2_autoattack_accepts_l2_and_refuses_linf() -> None:
    d = ATTACKS.get("autoattack_l2")
    assert d.resolve(AttackSpec("autoattack_l2", {"norm": "L2"})) == d.resolve(
        AttackSpec("autoattack_l2")
    )
    with pytest.raises(HarnessError, match=r"autoattack_l2 is implemented for L2 only; L-inf .*"):
        d.resolve(AttackSpec("autoattack_l2", {"norm": "linf"}))


@pytest.mark.parametrize("name", ["autoattack", "autoattack_l2"])
def test_the_cli_refuses_an_l1_autoattack_with_exit_2(tmp_path, capsys, name: str) -> None:
    text = (ROOT / "benchmarks" / "digits_fgsm.yaml").read_text()
    spec = tmp_path / "l1.yaml"
    spec.write_text(text.replace("  - fgsm\n", f"  - {{name: {name}, norm: l1}}\n", 1))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {spec}: attacks[0].norm: expected linf or l2, got 'l1'")


def test_the_cli_validates_an_l2_autoattack(tmp_path, capsys) -> None:
    text = (ROOT / "benchmarks" / "digits_fgsm.yaml").read_text()
    spec = tmp_path / "l2.yaml"
    spec.write_text(text.replace("  - fgsm\n", "  - {name: autoattack_l2, version: plus}\n", 1))
    assert main(["validate", str(spec)]) == 0, capsys.readouterr().err


def test_the_cli_runs_an_l2_autoattack_and_refuses_an_l2_fgsm_with_exit_2(tmp_path, capsys) -> None:
    text = (ROOT / "benchmarks" / "digits_fgsm.yaml").read_text()
    spec = tmp_path / "l2.yaml"
    spec.write_text(text.replace("  - fgsm\n", "  - {name: autoattack, norm: l2}\n", 1))
    assert main(["validate", str(spec)]) == 0
    capsys.readouterr()
    spec.write_text(text.replace("  - fgsm\n", "  - {name: fgsm, norm: l2}\n", 1))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith(
        f"error: {spec}: attacks[0].norm: fgsm is implemented"
    )
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "norm", "runs"),
    [("autoattack", "l2", "autoattack_l2"), ("pgd", "L2", "pgd_l2"), ("pgd_l2", "linf", "pgd"),
     ("autoattack_l2", "inf", "autoattack"), ("pgd", "linf", "pgd")],
)  # fmt: skip
def test_a_spec_norm_runs_the_family_member_declared_for_it(
    name: str, norm: str, runs: str
) -> None:
    from harness.plan import validate
    from harness.spec import parse_spec

    spec = parse_spec({"attacks": [{"name": name, "norm": norm, "label": "mine"}], "eps": [0, 0.5]})
    (planned,) = validate(spec).attacks
    assert (planned.definition.name, planned.name) == (runs, "mine")
    assert "norm" not in planned.params  # the declaration records it


def test_a_norm_no_family_member_has_is_still_one_line(tmp_path: Path) -> None:
    from harness.plan import validate
    from harness.spec import parse_spec

    with pytest.raises(
        HarnessError, match=r"^attacks\[0\]\.norm: fgsm is implemented for L-inf only"
    ):
        validate(parse_spec({"attacks": [{"name": "fgsm", "norm": "l2"}]}))
