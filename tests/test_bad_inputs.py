"""The bad-input catalogue (tests/bad_inputs/): every row must fail cleanly and leave nothing."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import bad_inputs  # tests/ is on sys.path (rootdir conftest)
import pytest
from bad_inputs import Case

from harness.cli import main


def _all_cases() -> list[Case]:
    cases: list[Case] = []
    for info in pkgutil.iter_modules(bad_inputs.__path__):
        cases += importlib.import_module(f"bad_inputs.{info.name}").CASES
    return cases


CASES = _all_cases()


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a folder)."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def test_catalogue_is_large_and_ids_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = case.setup(tmp_path)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == case.code, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert case.expect in err, err
    assert _snapshot(tmp_path) == before, "the failed command left something behind"
