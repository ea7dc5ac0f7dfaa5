"""A run's report.md split into what the page shows: prose, figures and tables.

Tables become rows for ``st.dataframe``, which scrolls sideways, instead of Markdown tables that
run off the page when a cell holds a weights path or a defence's parameters. Text in, data out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IMAGE_LINK = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")  # ![alt](file.png)
CELL_SPLIT = re.compile(r"(?<!\\)\|")  # a pipe that harness.reading did not escape as \|
RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")  # | --- | :---: |
INLINE = re.compile(r"\*\*|`")  # bold and code marks, shown as plain text in a table


@dataclass(frozen=True)
class Prose:
    text: str  # Markdown without tables


@dataclass(frozen=True)
class Figure:
    alt: str
    name: str  # the file, relative to the run folder


@dataclass(frozen=True)
class Table:
    columns: list[str]  # unique names
    rows: list[list[str]]  # each as long as ``columns``


Block = Prose | Figure | Table


def split_after(text: str, heading: str) -> tuple[str, str]:
    """(the section ``heading`` starts, everything else): the title and anything before the
    section go to the rest. ("", text) when the report has no such section (an older run)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        return "", text
    level = heading.split(" ")[0] + " "
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith(("# ", level))),
        len(lines),
    )
    return "".join(lines[start:end]), "".join(lines[:start] + lines[end:])


def blocks(text: str) -> list[Block]:
    """The report's blocks in order (empty prose dropped)."""
    out: list[Block] = []
    for chunk in _chunks(text.splitlines()):
        if isinstance(chunk, Table):
            out.append(chunk)
        else:
            out += _figures("\n".join(chunk))
    return [b for b in out if not (isinstance(b, Prose) and not b.text.strip())]


def _chunks(lines: list[str]) -> list[list[str] | Table]:
    """Runs of prose lines, and tables (a header line, a rule line, then body lines)."""
    out: list[list[str] | Table] = [[]]
    i = 0
    while i < len(lines):
        end = _table_end(lines, i)
        if end > i:
            out += [_table(lines[i:end]), []]
            i = end
        else:
            out[-1].append(lines[i])  # type: ignore[union-attr]  # the last chunk is prose
            i += 1
    return out


def _table_end(lines: list[str], i: int) -> int:
    """Where the table starting at line i ends (i itself: no table starts there)."""
    if not (lines[i].lstrip().startswith("|") and i + 1 < len(lines)):
        return i
    if not RULE.match(lines[i + 1].strip()):
        return i
    end = i + 2
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        end += 1
    return end


def _table(lines: list[str]) -> Table:
    header, body = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    width = len(header)
    rows = [(r + [""] * width)[:width] for r in body]
    return Table(_unique(header), rows)


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|")
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [INLINE.sub("", c).replace("\\|", "|").strip() for c in CELL_SPLIT.split(inner)]


def _unique(names: list[str]) -> list[str]:
    """Column names made unique (a data frame needs them so): "x", "x (2)", ..."""
    out: list[str] = []
    for name in names:
        label, k = name, 1
        while label in out:
            k += 1
            label = f"{name} ({k})"
        out.append(label)
    return out


def _figures(text: str) -> list[Block]:
    """Prose with its ![alt](file) links as figures."""
    parts = IMAGE_LINK.split(text)  # with two groups: text, alt, file, text, alt, file, ..., text
    out: list[Block] = [Prose(parts[0])]
    for i in range(1, len(parts), 3):
        out += [Figure(parts[i], parts[i + 1]), Prose(parts[i + 2])]
    return out
