"""AutoAttack is L-inf only here: an L2 AutoAttack is refused in one line, never run as L-inf."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.attacks import ATTACKS
from harness.cli import main
from harness.errors import HarnessError
from harness.spec import AttackSpec

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("implementation", ["art", "reference"])
def test_a_norm_parameter_is_refused_naming_the_field(implementation: str) -> None:
    """No ``norm`` is accepted, so ``norm: l2`` cannot fall through to the L-inf ensemble."""
    d = ATTACKS.get("autoattack")
    spec = AttackSpec("autoattack", {"implementation": implementation, "norm": "l2"})
    with pytest.raises(HarnessError) as err:
        d.resolve(spec, "attacks[0]")
    assert str(err.value).startswith("attacks[0].norm: unknown parameter")
    assert len(str(err.value).splitlines()) == 1


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
    assert "Traceback" not in err and err.startswith("error: ") and "attacks[0].norm" in err
    assert len(err.strip().splitlines()) == 1
