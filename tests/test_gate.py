"""``harness gate``: the gate page's CI recipe as written, a model made weaker on purpose that the
gate must catch, the same model against itself that it must pass, floors, and bad input."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from harness import gate
from harness.cli import main
from harness.errors import HarnessError

RECIPE_PAGE = Path(__file__).resolve().parents[1] / "docs" / "gate.md"  # the CI recipe


def recipe() -> list[list[str]]:
    """The commands of the gate page's CI recipe (between its ci-recipe markers), without `harness`."""
    text = RECIPE_PAGE.read_text(encoding="utf-8")
    block = re.search(r"<!-- ci-recipe -->\s*```bash\n(.*?)```\s*<!-- /ci-recipe -->", text, re.S)
    assert block, "the gate page's CI recipe is missing"
    lines = [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]
    commands = [shlex.split(ln) for ln in lines]
    assert all(c[0] == "harness" for c in commands)
    return [c[1:] for c in commands]


@pytest.fixture(scope="module")
def ci(tmp_path_factory) -> Path:
    """The recipe run as written in a fresh folder (weights cached there)."""
    root = tmp_path_factory.mktemp("ci")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    mp.setattr("harness.runner.MODELS_DIR", root / "models")
    try:
        codes = [main(c) for c in recipe()]
        weak = ["run", "digits_fgsm", "--set", "dataset.n_test=200", "--out", "ci/weak"]
        assert main([*weak, "--set", "model.train.epochs=2"]) == 0  # made weaker on purpose
    finally:
        mp.undo()
    assert codes == [0, 0, 0]  # the recipe passes the unchanged model
    return root / "ci"


def test_the_gate_catches_a_weaker_model(ci, capsys) -> None:
    code = main(["gate", str(ci / "weak"), "--against", str(ci / "reference")])
    out = capsys.readouterr().out
    assert code == 1 and "\ngate: FAILED" in out and "95% intervals, paired)" in out
    assert out.startswith("note: the runs differ in spec (")  # trained for fewer epochs
    assert "| baseline | none | 0 | clean_accuracy |" in out  # and says what regressed


def test_the_same_model_passes_and_json_is_for_machines(ci, capsys) -> None:
    code = main(["gate", str(ci / "candidate"), "--against", str(ci / "reference"), "--json"])
    found = json.loads(capsys.readouterr().out)
    assert code == 0 and found["passed"] and found["notes"] == []
    assert all(f["change"]["value"] == 0 and f["paired"] for f in found["findings"])
    assert len(found["findings"]) == 2 * (1 + 5)  # 2 models: clean + 5 swept ε > 0


def test_a_tolerance_replaces_the_interval_test(ci) -> None:
    args = ["gate", str(ci / "weak"), "--against", str(ci / "reference")]
    assert main([*args, "--tolerance", "100"]) == 0
    assert main([*args, "--tolerance", "1"]) == 1


def test_floors(ci, capsys) -> None:
    run = str(ci / "weak")
    assert main(["gate", run, "--require", "clean_accuracy >= 0.5"]) == 0
    assert main(["gate", run, "--require", "robust_accuracy[fgsm, 3/10, robust] >= 0.5"]) == 1
    assert "| robust | fgsm | 0.3 | robust_accuracy |" in capsys.readouterr().out


@pytest.mark.parametrize(
    "floor,message",
    [
        ("accuracy >= 0.5", "expected METRIC[ATTACK, EPS] OP VALUE"),
        ("robust_accuracy[fgsm] >= 0.5", "needs [ATTACK, EPS(, MODEL)]"),
        ("robust_accuracy[pgd, 0.1] >= 0.5", "the run has no attack 'pgd' (it has fgsm)"),
        ("robust_accuracy[fgsm, 0.12] >= 0.5", "fgsm was not run at ε = 0.12"),
        ("clean_accuracy[nobody] >= 0.5", "the run has no model 'nobody'"),
        ("robust_accuracy[fgsm, 0.1] >= 30", "a fraction in [0, 1] (0.30 for 30%), got 30"),
        ("clean_accuracy >= nan", "got nan"),
    ],
)
def test_bad_floors_are_one_line_and_exit_2(ci, capsys, floor, message) -> None:
    assert main(["gate", str(ci / "weak"), "--require", floor]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_nothing_to_check_or_no_run_is_exit_2(tmp_path, capsys) -> None:
    assert main(["gate", str(tmp_path)]) == 2
    assert main(["gate", str(tmp_path / "none"), "--require", "clean_accuracy >= 0.5"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_runs_on_other_images_are_said_to_be_unpaired(ci, digits_runs) -> None:
    from harness.results import rundir

    a, b = (rundir.read_run(p).result for p in (ci / "weak", digits_runs[0]))
    assert gate.images_note(a, b).startswith("not paired: the runs evaluated different test images")
    assert gate.images_note(a, a) == ""


def test_parse_requirement() -> None:
    r = gate.parse_requirement("robust_accuracy[pgd, 8/255] >= 0.40")
    assert (r.metric, r.attack, r.model, r.op, r.value) == (
        "robust_accuracy",
        "pgd",
        None,
        ">=",
        0.4,
    )
    assert r.eps == pytest.approx(8 / 255)
    with pytest.raises(HarnessError):
        gate.parse_requirement("clean_accuracy[a, b] > 0.1")


def test_a_card_is_a_reference_too(ci, tmp_path, capsys) -> None:
    card = str(ci / "reference" / "card.json")
    assert main(["gate", str(ci / "candidate"), "--against", card]) == 0
    assert main(["gate", str(ci / "weak"), "--against", card]) == 1
    out = capsys.readouterr().out
    assert "| robust | fgsm | 0.15 | robust_accuracy |" in out  # the card's headline ε
    assert "note: against a card: only its headline figures (ε = 0.15), unpaired" in out
    bad = tmp_path / "card.json"
    bad.write_text("{}")
    assert main(["gate", str(ci / "weak"), "--against", str(bad)]) == 2
    assert "not a robustness card" in capsys.readouterr().err
    broken = json.loads((ci / "reference" / "card.json").read_text())
    broken["test_set"]["n_test"] = 0
    bad.write_text(json.dumps(broken))
    assert main(["gate", str(ci / "weak"), "--against", str(bad), "--json"]) == 2
    assert "test_set.n_test must be a positive count" in capsys.readouterr().err


def test_other_seeds_and_a_missing_reference_are_said(ci, digits_runs, capsys) -> None:
    assert (
        main(["gate", str(digits_runs[1]), "--against", str(digits_runs[0]), "--tolerance", "100"])
        == 0
    )
    assert "note: the runs differ in seed (0 vs 1) and spec (" in capsys.readouterr().out
    assert main(["gate", str(ci / "weak"), "--against", str(ci / "nosuch")]) == 2
    assert "nosuch: cannot gate against this run: no such folder" in capsys.readouterr().err
