"""Output locations: refused before any heavy work, and nothing the user owns is touched."""

from __future__ import annotations

import json
from pathlib import Path

from bad_inputs import TINY, Case, Setup, with_files, write_files
from harness.outputs import comparison_mark

RUN = "name: x\n" + TINY
GRID = RUN + "grid: {seeds: [0]}\n"
FOREIGN = {"out/mine.txt": "my notes", "out/sub/data.bin": b"\x00\x01"}


def run(text: str, *extra: str, files: dict[str, str | bytes] | None = None) -> Setup:
    """``harness run`` of a spec with ``text`` after writing ``files`` (relative path -> content)."""
    return with_files(files or {}, text, *extra)


def report(spec_hash: str = "000000000000", files: tuple[str, ...] = ("run.json",)) -> str:
    """A run.json as ``harness.report.write_report`` marks it (a report of another spec)."""
    marker = {"kind": "run", "files": list(files)}
    return json.dumps({"provenance": {"spec_hash": spec_hash}, "harness_report": marker})


def compare(*extra: str, files: dict[str, str] | None = None) -> Setup:
    """``harness compare`` of a missing run folder (the --out check comes first)."""

    def setup(tmp: Path) -> list[str]:
        write_files(tmp, dict(files or {}))
        return ["compare", str(tmp / "run"), "--out", str(tmp / "cmp"), *extra]

    return setup


CASES = [
    Case("out_is_file", run(RUN, files={"out": "a file"}), "--out: "),
    Case("out_under_file", run(RUN, "--out", "f/out", files={"f": "a file"}), "under the file"),
    Case("out_foreign_folder", run(RUN, files=FOREIGN), "holds no harness report"),
    Case(
        "out_foreign_overwrite",
        run(RUN, "--overwrite", files=FOREIGN),
        "--overwrite replaces only a harness report",
    ),
    Case("out_dot", run(RUN, "--out", ".", files={"mine.txt": "x"}), "is the working directory"),
    Case("out_dot_empty", run(RUN, "--out", "."), "is the working directory"),
    Case("out_parent_of_cwd", run(RUN, "--out", ".."), "a parent of the working directory"),
    Case("out_root", run(RUN, "--out", "/"), "a parent of the working directory"),
    Case("out_home", run(RUN, "--out", str(Path.home())), "expected a folder of its own"),
    Case(
        "out_report_of_other_spec",
        run(RUN, files={"out/run.json": report()}),
        "holds the report of another spec",
    ),
    Case(
        "out_report_with_user_file",
        run(RUN, "--overwrite", files={"out/run.json": report(), "out/notes.txt": "mine"}),
        "holds notes.txt",
    ),
    Case(
        "out_grid_folder_for_run",
        run(RUN, files={"out/run.json": '{"kind": "grid"}', "out/cells/a.json": "{}"}),
        "holds no harness report",
    ),
    Case("models_dir_is_file", run(RUN, files={"models": "a file"}), "--models-dir: "),
    Case(
        "models_dir_under_file",
        run(RUN, "--models-dir", "f/models", files={"f": "a file"}),
        "--models-dir: f/models is under the file",
    ),
    Case(
        "models_dir_inside_out",
        run(RUN, "--models-dir", "out/models"),
        "--models-dir: out/models is inside --out",
    ),
    Case("grid_out_foreign", run(GRID, files=FOREIGN), "is not a grid folder"),
    Case("grid_out_is_file", run(GRID, files={"out": "a file"}), "--out: "),
    Case("grid_overwrite", run(GRID, "--overwrite"), "--overwrite: a grid folder is resumed"),
    Case("compare_out_is_file", compare(files={"cmp": "a file"}), "--out: "),
    Case(
        "compare_out_under_file",
        compare("--out", "f/cmp", files={"f": "x"}),
        "under the file",
    ),
    Case(
        "compare_out_foreign",
        compare("--overwrite", files={"cmp/mine.txt": "x"}),
        "holds no harness comparison",
    ),
    Case(
        "compare_out_earlier_comparison",
        compare(
            files={
                "cmp/compare.md": "# x",
                "cmp/leaderboard.csv": "rank\n",
                "cmp/comparison.json": comparison_mark(["compare.md", "leaderboard.csv"]),
            }
        ),
        "pass --overwrite",
    ),
]
