"""Where a command may write, decided before any heavy work (data, training, attacks).

The rule: a command never deletes or overwrites what it did not create.

- A location must be a folder or not exist yet, must not lie under a file, and the folder it
  will be written in must be writable.
- A run's ``--out`` (and ``compare --out``) is replaced as a whole, so it must be missing or
  empty, or hold a report the harness wrote: a run report is recognised by the ``MARKER`` key
  its writer puts in ``run.json`` (with the list of files it wrote; nothing else may be there).
  A finished report of the same spec is left as it is (nothing to do); any other report is
  replaced only with ``--overwrite``. A report written before the marker lists no files, so
  nothing in it is provably ours: it is never replaced. The working directory, the home folder
  and their parents are never replaced.
- A grid's ``--out`` is resumed, never replaced: it must be missing, empty or a grid folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.spec.loader import shorten

MARKER = "harness_report"  # run.json key: {"kind": "run", "files": [the names it wrote]}
COMPARISON_MARK = "comparison.json"  # harness.compare's mark: {MARKER: {"kind", "files"}}
UNTOUCHED = "nothing in it was touched"
# A folder is written as ``.<name>.<pid>-<8 chars>.tmp`` beside itself first (harness.io), and
# locked with ``.<name>.lock`` (harness.lock): room kept in its name's length for either
NAME_ROOM = 32
NAME_MAX, PATH_MAX = 255, 4096  # POSIX's usual limits, where os.pathconf cannot say


@dataclass(frozen=True)
class Target:
    """A report folder that passed the checks, and what to do with it."""

    path: Path
    replace: bool = False  # an earlier harness report is there and may be replaced
    done: bool = False  # a finished report of the same spec is already there


@dataclass(frozen=True)
class FoundReport:
    """A run report found in a folder (``read_report``)."""

    spec_hash: str
    files: frozenset[str] | None  # the names its writer listed; None: written before MARKER,
    # when reports listed nothing (such a folder is never replaced: nothing in it is provably ours)


# ---------------------------------------------------------------- any location


def check_location(path: str | Path, field: str, *, beside: bool = False) -> None:
    """``path`` can be a folder we write in: not a file, not under a file, writable.

    ``beside``: the folder is written next to itself first (a temporary folder renamed into
    place), so its parent must be writable too.
    """
    p = Path(path).absolute()
    _check_lengths(p, path, field)
    if p.exists() and not p.is_dir():
        raise HarnessError(f"{field}: {path} is a file; expected a folder")
    here = p.parent if beside else p
    while not here.exists():
        here = here.parent
    if not here.is_dir():
        raise HarnessError(f"{field}: {path} is under the file {here}; expected a folder")
    if not os.access(here, os.W_OK | os.X_OK):
        raise HarnessError(f"{field}: {path} cannot be written ({here} is not writable)")


def _check_lengths(p: Path, path: str | Path, field: str) -> None:
    """Every name in ``p`` (absolute) fits the file system, with room for a temporary name;
    checked before anything asks the file system about ``p`` (that raises on such a name)."""
    here = next((a for a in p.parents if os.path.isdir(a)), p)  # p: the root
    name_max, path_max = (
        _limit(here, "PC_NAME_MAX", NAME_MAX),
        _limit(here, "PC_PATH_MAX", PATH_MAX),
    )
    for i, part in enumerate(p.parts[1:], start=1):
        limit = name_max - (NAME_ROOM if i == len(p.parts) - 1 else 0)
        size = len(os.fsencode(part))
        if size > limit:
            room = "" if limit == name_max else ", less room for a temporary name beside it"
            raise HarnessError(
                f"{field}: {shorten(str(path), 40)}: the name {shorten(part, 40)} is {size} bytes long; "
                f"expected at most {limit} bytes (the file system allows {name_max}{room})"
            )
    size = len(os.fsencode(str(p)))
    if size > path_max - NAME_ROOM:
        raise HarnessError(
            f"{field}: {shorten(str(path), 40)} is {size} bytes long; expected a path of at most "
            f"{path_max - NAME_ROOM} bytes"
        )


def _limit(folder: Path, name: str, default: int) -> int:
    """``os.pathconf(folder, name)``, or ``default`` where the system cannot say."""
    try:
        value = os.pathconf(folder, name)
    except (OSError, ValueError, AttributeError):
        return default
    return value if value > 0 else default


def _check_not_home(path: Path, field: str) -> None:
    """Never replace the working directory, the home folder or a folder holding either."""
    p = path.resolve()
    for name, where in (("the working directory", Path.cwd()), ("the home folder", Path.home())):
        if where.resolve().is_relative_to(p):
            what = name if where.resolve() == p else f"a parent of {name}"
            raise HarnessError(
                f"{field}: {path} is {what}; expected a folder of its own for the report, "
                f"e.g. reports/<name> ({UNTOUCHED})"
            )


def _entries(path: Path) -> list[Path]:
    return sorted(path.iterdir()) if path.is_dir() else []


# ---------------------------------------------------------------- a run's report folder


def report_location(path: str | Path, field: str = "--out") -> None:
    """Where a report (or a comparison) may go, whatever the folder holds: checks only."""
    check_location(path, field, beside=True)
    _check_not_home(Path(path), field)


def report_target(path: str | Path, digest: str, overwrite: bool, field: str = "--out") -> Target:
    """Check a run's report folder; ``digest``: the spec's hash (``Spec.digest``)."""
    p = Path(path)
    report_location(p, field)
    if not _entries(p):
        return Target(p)
    found = _marked_report(p, field)
    if overwrite:
        return Target(p, replace=True)
    if found.spec_hash == digest:
        return Target(p, done=True)
    raise HarnessError(
        f"{field}: {path} holds the report of another spec (spec hash {found.spec_hash}, "
        f"this one {digest}); pass --overwrite to replace it, or choose another folder"
    )


def read_report(path: Path) -> FoundReport | None:
    """The run report in ``path``: its spec hash and the files it wrote (None: not a report)."""
    try:
        raw = json.loads((path / "run.json").read_text(encoding="utf-8"))
        spec_hash = str(raw["provenance"]["spec_hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    marker = raw.get(MARKER)
    if isinstance(marker, dict) and marker.get("kind") == "run":
        return FoundReport(spec_hash, frozenset(map(str, marker.get("files", []))))
    if "measurements" not in raw or raw.get("kind") == "grid":
        return None
    return FoundReport(spec_hash, None)  # written before MARKER: any report file may be there


def _marked_report(path: Path, field: str) -> FoundReport:
    """The report in ``path`` when its marker lists every entry there; else a refusal."""
    found = read_report(path)
    if found is None:
        raise HarnessError(
            f"{field}: {path} is not empty and holds no harness report; expected a new or empty "
            f"folder ({UNTOUCHED}; --overwrite replaces only a harness report)"
        )
    if found.files is None:
        raise HarnessError(
            f"{field}: {path} has no harness marker (a report written before reports listed "
            f"their files), so nothing in it can be told from the user's files; choose another "
            f"--out, or remove the folder yourself ({UNTOUCHED})"
        )
    _check_only_report_files(path, found.files, field)
    return found


def _check_only_report_files(path: Path, files: frozenset[str], field: str) -> None:
    """Replacing the folder must not take anything the report writer did not list."""
    for entry in _entries(path):
        if not (entry.is_file() and not entry.is_symlink() and entry.name in files):
            raise HarnessError(
                f"{field}: {path} holds {entry.name}, which its harness report did not write; "
                f"expected a folder with the report only ({UNTOUCHED})"
            )


# ---------------------------------------------------------------- other outputs


def comparison_target(path: str | Path, overwrite: bool, field: str = "--out") -> Target:
    """Check ``harness compare --out``: missing, empty, or an earlier comparison whose mark
    (``comparison.json``) lists every file in the folder (replaced only with --overwrite)."""
    p = Path(path)
    report_location(p, field)
    if not _entries(p):
        return Target(p)
    files = read_comparison_mark(p)
    if files is None:
        raise HarnessError(
            f"{field}: {path} is not empty and holds no harness comparison (none written with "
            f"its {COMPARISON_MARK}); expected a new or empty folder ({UNTOUCHED}; --overwrite "
            "replaces only a comparison)"
        )
    _check_only_report_files(p, files, field)
    if not overwrite:
        raise HarnessError(
            f"{field}: {path} holds an earlier comparison; pass --overwrite to replace it, "
            "or choose another folder"
        )
    return Target(p, replace=True)


def comparison_mark(files: list[str]) -> str:
    """The text of ``comparison.json``: the comparison's files, itself included."""
    listed = sorted({*files, COMPARISON_MARK})
    return json.dumps({MARKER: {"kind": "comparison", "files": listed}}, indent=1) + "\n"


def read_comparison_mark(path: Path) -> frozenset[str] | None:
    """The files a comparison in ``path`` wrote, from its mark; None without one."""
    try:
        raw = json.loads((path / COMPARISON_MARK).read_text(encoding="utf-8"))
        mark = raw[MARKER]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(mark, dict) or mark.get("kind") != "comparison":
        return None
    return frozenset(map(str, mark.get("files", [])))


def grid_target(path: str | Path, overwrite: bool, field: str = "--out") -> Target:
    """Check a grid's folder: missing, empty, or a grid folder (a rerun resumes it)."""
    p = Path(path)
    check_location(p, field)
    if overwrite:
        raise HarnessError(
            f"--overwrite: a grid folder is resumed, never replaced; to start {path} afresh, "
            "remove it or choose another --out"
        )
    if _entries(p) and not ((p / "cells").is_dir() or _is_grid_json(p / "run.json")):
        raise HarnessError(
            f"{field}: {path} is not empty and is not a grid folder (no cells/); expected a new "
            f"or empty folder, or an earlier run of this grid ({UNTOUCHED})"
        )
    return Target(p)


def _is_grid_json(path: Path) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("kind") == "grid"
    except (OSError, ValueError, AttributeError):
        return False


def check_models_dir(path: str | Path, out: Path | None, field: str = "--models-dir") -> None:
    """The weights cache: a writable folder, and not inside a report folder that is replaced."""
    check_location(path, field)
    if out is not None and Path(path).resolve().is_relative_to(out.resolve()):
        raise HarnessError(
            f"{field}: {path} is inside --out {out}, which the report replaces; "
            "expected a folder outside it"
        )
