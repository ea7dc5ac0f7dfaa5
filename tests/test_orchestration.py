"""The runner orchestrates: the spec is validated once per ``harness run``, runner.py stays small."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest
from bad_inputs import TINY_RUN, run_args  # tests/ is on sys.path (rootdir conftest)

from harness import evaluate, runner, validation
from harness.cli import main
from harness.errors import HarnessError
from harness.results import RunResult
from harness.spec import load_spec

RUNNER_MAX_LINES = 200  # issue 15: orchestration only, about 150 lines


def _count_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the specs validated from now on (every validation checks the dataset first)."""
    calls: list[str] = []
    real = validation.check_dataset_fields

    def counted(spec):
        calls.append(spec.name)
        return real(spec)

    monkeypatch.setattr(validation, "check_dataset_fields", counted)
    return calls


def test_harness_run_validates_the_spec_once(tmp_path: Path, monkeypatch) -> None:
    calls = _count_validations(monkeypatch)
    (tmp_path / "spec.yaml").write_text(TINY_RUN, encoding="utf-8")
    assert main(run_args(tmp_path, tmp_path / "spec.yaml")) == 0
    assert calls == ["tiny"]
    assert (tmp_path / "out" / "results.csv").is_file()


def test_run_from_python_validates_before_reading_data(tmp_path: Path, monkeypatch) -> None:
    calls = _count_validations(monkeypatch)
    path = tmp_path / "spec.yaml"
    path.write_text(TINY_RUN.replace("attacks: [fgsm]", "attacks: [fgsn]"), encoding="utf-8")
    spec = load_spec(str(path))
    monkeypatch.setattr(
        runner, "prepare", lambda *a, **k: pytest.fail("data read before validation")
    )
    with pytest.raises(HarnessError, match=r"attacks\[0\]\.name.*fgsm"):
        runner.run(spec, models_dir=tmp_path / "models")
    assert calls == ["tiny"]


def test_runner_module_stays_small() -> None:
    lines = Path(runner.__file__).read_text(encoding="utf-8").splitlines()
    assert len(lines) <= RUNNER_MAX_LINES, f"harness/runner.py has {len(lines)} lines"


def test_every_record_an_analysis_returns_has_its_run_result_field() -> None:
    """A new analysis whose record type is not routed would fail only at the end of a real run."""
    fields = {f.name for f in dataclasses.fields(RunResult)}
    for analysis in evaluate.ANALYSES:
        (item,) = typing.get_args(typing.get_type_hints(analysis)["return"])  # list[item]
        for kind in typing.get_args(item) or (item,):
            target = evaluate.FIELDS.get(kind) or evaluate.PER_ROLE.get(kind)
            assert target in fields, f"{analysis.__name__} returns {kind.__name__}: no field"
