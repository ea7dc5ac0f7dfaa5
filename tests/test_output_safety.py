"""Output safety: a run never deletes or overwrites what it did not create (issue 13).

The bad-input catalogue (tests/bad_inputs/output.py) covers each refused location; here: the
bytes of a refused folder, replacing a report with --overwrite, the same spec's finished report,
the atomic swap, and which temporary leftovers a write removes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bad_inputs import TINY_RUN as TINY

from harness import outputs
from harness.cli import main
from harness.errors import HarnessError
from harness.io import atomic_dir, stale_temporaries


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def _dead_pid() -> int:
    """The pid of a process that has finished (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny) run's report folder, ``<tmp>/reports/out``; weights in ``<tmp>/models``."""
    tmp = tmp_path_factory.mktemp("first")
    (tmp / "spec.yaml").write_text(TINY, encoding="utf-8")
    code = main(["run", str(tmp / "spec.yaml"), "--out", str(tmp / "reports" / "out"),
                 "--models-dir", str(tmp / "models")])  # fmt: skip
    assert code == 0
    return tmp


def _run(tmp: Path, *extra: str) -> int:
    return main(["run", str(tmp / "spec.yaml"), "--out", str(tmp / "reports" / "out"),
                 "--models-dir", str(tmp / "models"), *extra])  # fmt: skip


def test_report_is_marked_with_the_files_it_wrote(first_run: Path) -> None:
    out = first_run / "reports" / "out"
    marker = json.loads((out / "run.json").read_text())[outputs.MARKER]
    assert marker["kind"] == "run"
    assert sorted(marker["files"]) == sorted(p.name for p in out.iterdir())


def test_same_spec_finished_report_is_left_as_it_is(first_run: Path, capsys) -> None:
    before = _snapshot(first_run / "reports")
    assert _run(first_run) == 0
    assert "already holds the finished report of this spec" in capsys.readouterr().out
    assert _snapshot(first_run / "reports") == before


def test_overwrite_replaces_a_report_completely_and_removes_stale_temporaries(
    first_run: Path,
) -> None:
    reports = first_run / "reports"
    dead = reports / f".out.{_dead_pid()}-abcdefgh.tmp"  # a kill -9 during a report write
    live = reports / f".out.{os.getpid()}-abcdefgh.tmp"  # a live run's (this process)
    for folder in (dead, live):
        folder.mkdir()
        (folder / "results.csv").write_text("half")
    old = json.loads((reports / "out" / "run.json").read_text())
    assert _run(first_run, "--set", "seed=1") == 2  # another spec's report: refused
    assert _run(first_run, "--set", "seed=1", "--overwrite") == 0
    new = json.loads((reports / "out" / "run.json").read_text())
    assert new["seed"] == 1 and new["provenance"]["spec_hash"] != old["provenance"]["spec_hash"]
    files = new[outputs.MARKER]["files"]
    assert sorted(files) == sorted(p.name for p in (reports / "out").iterdir())
    assert not dead.exists() and live.is_dir()
    assert sorted(p.name for p in reports.iterdir()) == sorted(["out", live.name])


def test_refused_foreign_folder_keeps_every_byte(tmp_path: Path, capsys) -> None:
    (tmp_path / "spec.yaml").write_text(TINY, encoding="utf-8")
    out = tmp_path / "reports" / "out"
    (out / "deep").mkdir(parents=True)
    (out / "run.json").write_text('{"mine": true}')  # not a harness report: no provenance
    (out / "deep" / "data.bin").write_bytes(bytes(range(256)))
    before = _snapshot(tmp_path)
    for extra in ((), ("--overwrite",)):
        assert _run(tmp_path, *extra) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --out: ") and "holds no harness report" in err
    assert _snapshot(tmp_path) == before


# ---------------------------------------------------------------- the atomic swap


def test_atomic_dir_never_replaces_a_non_empty_folder_unasked(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(HarnessError, match="not empty"), atomic_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_keeps_the_old_folder_when_the_new_one_fails(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(out, replace=True) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("the report failed half way")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    with atomic_dir(out, replace=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_only_our_stale_temporaries_are_found(tmp_path: Path) -> None:
    dead = _dead_pid()
    names = {
        f".out.{dead}-abcdefgh.tmp": True,  # ours, its process is gone
        f".results.csv.{dead}-a_c1efgh.tmp": True,
        f".out.{os.getpid()}-abcdefgh.tmp": False,  # ours, alive
        ".out.abcdefgh.tmp": False,  # the old naming, without a pid: cannot tell, keep
        f"out.{dead}-abcdefgh.tmp": False,  # not hidden: not ours
        f".notes.{dead}-abc.tmp": False,  # not our random part
        f".out.{dead}-abcdefgh.tmp.bak": False,
    }
    for name in names:
        (tmp_path / name).mkdir()
    found = {p.name for p in stale_temporaries(tmp_path)}
    assert found == {n for n, stale in names.items() if stale}


# ---------------------------------------------------------------- writable


def test_unwritable_location_is_refused_before_any_work(tmp_path: Path, monkeypatch) -> None:
    """Simulated: ``os.access`` says no (as a read-only mount would, even for root)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(outputs.os, "access", lambda p, m: Path(p) != ro and real(p, m))
    with pytest.raises(HarnessError, match=r"--out: .*ro/out cannot be written \(.*not writable"):
        outputs.report_target(ro / "out", "x", overwrite=False)
    with pytest.raises(HarnessError, match=r"--models-dir: .* cannot be written"):
        outputs.check_models_dir(ro / "models", None)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a chmod 555 folder anyway")
def test_read_only_folder_is_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "spec.yaml").write_text(TINY, encoding="utf-8")
    (tmp_path / "reports").mkdir(mode=0o555)
    assert _run(tmp_path) == 2
    assert "cannot be written" in capsys.readouterr().err


# ---------------------------------------------------------------- recognising our own folders


def _old_report(out: Path) -> None:
    """A report folder as the harness wrote it before ``outputs.MARKER``: no list of its files."""
    out.mkdir(parents=True)
    (out / "run.json").write_text(
        json.dumps({"provenance": {"spec_hash": "abc"}, "measurements": []})
    )
    (out / "results.csv").write_text("model,attack,eps,metric,value\n")
    (out / "report.md").write_text("# report\n")


USER_FILES = {"my_notes.md": "mine", "thesis_data.csv": "a,b\n1,2\n", "my_figure.png": "\x89PNG"}


def test_overwrite_refuses_a_report_without_the_marker_and_keeps_the_users_files(
    tmp_path: Path, capsys
) -> None:
    """Issue 28: --overwrite deleted my_notes.md, thesis_data.csv, my_figure.png (exit 0)."""
    (tmp_path / "spec.yaml").write_text(TINY, encoding="utf-8")
    out = tmp_path / "reports" / "out"
    _old_report(out)
    for name, text in USER_FILES.items():
        (out / name).write_text(text)
    before = _snapshot(tmp_path)
    for extra in (("--overwrite",), ()):
        assert _run(tmp_path, *extra) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and err.startswith("error: --out: "), err
        assert "has no harness marker" in err and "remove the folder yourself" in err
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "models").exists(), "the refused run trained a model"


def test_a_report_without_the_marker_is_never_replaced_even_when_it_holds_only_report_files(
    tmp_path: Path,
) -> None:
    out = tmp_path / "old"
    _old_report(out)
    for digest, overwrite in (("abc", False), ("xyz", True), ("xyz", False)):
        with pytest.raises(HarnessError, match="has no harness marker"):
            outputs.report_target(out, digest, overwrite=overwrite)


def test_overwrite_refuses_a_marked_report_with_a_user_file_naming_it(
    first_run: Path, capsys
) -> None:
    out = first_run / "reports" / "out"
    (out / "my_notes.md").write_text("mine")
    try:
        before = _snapshot(first_run / "reports")
        assert _run(first_run, "--set", "seed=2", "--overwrite") == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --out: ") and "holds my_notes.md, which its harness" in err
        assert _snapshot(first_run / "reports") == before
    finally:
        (out / "my_notes.md").unlink()


def test_a_link_named_as_a_listed_file_is_not_ours(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    record = {"provenance": {"spec_hash": "abc"}, outputs.MARKER: {"kind": "run",
              "files": ["run.json", "results.csv"]}}  # fmt: skip
    (out / "run.json").write_text(json.dumps(record))
    (tmp_path / "thesis.csv").write_text("mine")
    (out / "results.csv").symlink_to(tmp_path / "thesis.csv")
    with pytest.raises(HarnessError, match=r"holds results\.csv, which its harness report"):
        outputs.report_target(out, "xyz", overwrite=True)
    (out / "results.csv").unlink()
    (out / "results.csv").write_text("model,attack,eps,metric,value\n")
    assert outputs.report_target(out, "xyz", overwrite=True).replace


def test_a_grid_folder_is_resumed_and_a_comparison_replaced_on_request(tmp_path: Path) -> None:
    grid = tmp_path / "grid"
    (grid / "cells").mkdir(parents=True)
    assert outputs.grid_target(grid, overwrite=False).path == grid
    cmp = tmp_path / "cmp"
    cmp.mkdir()
    for name in ("compare.md", "leaderboard.csv", "compare.html"):
        (cmp / name).write_text("x")
    (cmp / outputs.COMPARISON_MARK).write_text(
        outputs.comparison_mark(["compare.md", "leaderboard.csv", "compare.html"])
    )
    with pytest.raises(HarnessError, match="pass --overwrite"):
        outputs.comparison_target(cmp, overwrite=False)
    assert outputs.comparison_target(cmp, overwrite=True).replace


def test_compare_overwrite_never_takes_a_users_file(tmp_path: Path) -> None:
    """A folder of comparison-looking files without the mark, or a marked comparison with a
    file it did not write, is refused even with --overwrite, byte for byte untouched."""
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name, text in (("compare.md", "x"), ("leaderboard.csv", "x"), ("my_notes.md", "mine")):
        (legacy / name).write_text(text)
    with pytest.raises(HarnessError, match="holds no harness comparison"):
        outputs.comparison_target(legacy, overwrite=True)
    marked = tmp_path / "marked"
    marked.mkdir()
    (marked / "compare.md").write_text("x")
    (marked / outputs.COMPARISON_MARK).write_text(outputs.comparison_mark(["compare.md"]))
    (marked / "thesis_data.csv").write_text("mine")
    with pytest.raises(HarnessError, match=r"holds thesis_data\.csv, which its harness report"):
        outputs.comparison_target(marked, overwrite=True)
    assert (legacy / "my_notes.md").read_text() == "mine"
    assert (marked / "thesis_data.csv").read_text() == "mine"
