"""A named model's published corruption errors (``corruptions.reference``), read from a CSV file.

The file has the header ``corruption,severity,error``; each row gives a top-1 error in [0, 1]
for one corruption at severity 1-5, or at ``all`` for an error averaged over the severities (as
Hendrycks & Dietterich's AlexNet table gives it). A row ``clean,,E`` adds the model's clean
error, which the relative mCE needs. Anything else is one line naming the file, the line and
what was expected.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from harness.corruptions.catalog import ALL
from harness.errors import HarnessError
from harness.results.corruption import CorruptionReference
from harness.spec import Spec
from harness.userfiles import check_regular

MAX_BYTES = 1_000_000  # a table of 19 corruptions x 5 severities is a few kB
HEADER = ["corruption", "severity", "error"]
SEVERITIES = {"1", "2", "3", "4", "5", "all"}


def load(name: str, path: str | Path) -> CorruptionReference:
    """The reference ``name`` from the CSV file ``path`` (see the module's docstring)."""
    rows = _rows(Path(path))
    errors: dict[str, dict[str, float]] = {}
    clean = None
    for line, (corruption, severity, error) in rows:
        where = f"{path} line {line}"
        value = _error(error, where)
        if corruption == "clean":
            clean = value
            continue
        if corruption not in ALL:
            raise HarnessError(
                f"{where}: expected a corruption of {', '.join(ALL)} or clean, got {corruption!r}"
            )
        if severity not in SEVERITIES:
            raise HarnessError(f"{where}: expected a severity 1-5 or all, got {severity!r}")
        errors.setdefault(corruption, {})[severity] = value
    if not errors:
        raise HarnessError(f"{path}: expected at least one corruption's error, got none")
    return CorruptionReference(name, errors, clean, str(path))


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """The data rows of ``path`` with their line numbers, after checking size and header."""
    field, expected = "corruptions.reference.errors", f"a CSV of {','.join(HEADER)}"
    check_regular(path, expected, field)
    if not path.is_file():
        raise HarnessError(f"{field}: {path} does not exist; expected {expected}")
    if path.stat().st_size > MAX_BYTES:
        raise HarnessError(f"{path}: larger than {MAX_BYTES:,} bytes; expected a small CSV table")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise HarnessError(
            f"{path}: not UTF-8 text; expected a CSV of {','.join(HEADER)}"
        ) from None
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or [c.strip() for c in lines[0]] != HEADER:
        raise HarnessError(f"{path} line 1: expected the header {','.join(HEADER)}")
    out = []
    for i, row in enumerate(lines[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != 3:
            raise HarnessError(
                f"{path} line {i}: expected 3 fields ({','.join(HEADER)}), got {len(row)}"
            )
        out.append((i, [c.strip() for c in row]))
    return out


def _error(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise HarnessError(f"{where}: expected an error in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise HarnessError(f"{where}: expected an error in [0, 1], got {text!r}")
    return value


def of(spec: Spec) -> CorruptionReference | None:
    """The spec's named reference, read (None when it names none)."""
    cs = spec.corruptions
    if cs is None or cs.reference is None:
        return None
    return load(cs.reference.name, cs.reference.errors)
