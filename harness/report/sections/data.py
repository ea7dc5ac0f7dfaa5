"""``## Data``: the dataset, its classes, split sizes, input shape, test samples per class."""

from __future__ import annotations

from typing import Any

from harness.reading import DASH, table
from harness.results import DataSummary, RunResult


def markdown(result: RunResult) -> str:
    return "## Data\n\n" + table(["", "value"], rows(result.data))


def rows(data: DataSummary) -> list[tuple[str, Any]]:
    names = [str(c) for c in data.class_names]
    shown = ", ".join(names[:20]) + (", …" if len(names) > 20 else "")
    sizes = [data.n_train, data.n_val, data.n_test]
    shape = data.input_shape
    out = [
        ("dataset", data.name or DASH),
        ("source", f"`{data.source}`" if data.source else DASH),
        ("classes", f"{len(names)}: {shown}"),
        ("train / val / test", " / ".join(DASH if s is None else f"{s:,}" for s in sizes)),
        ("input shape (C × H × W)", " × ".join(map(str, shape)) if shape else DASH),
    ]
    counts = data.test_class_counts
    if counts:
        per_class = ", ".join(f"{n}: {c}" for n, c in zip(names, counts, strict=False))
        out.append(("test samples per class", per_class))
    return out + list(data.extra.items())  # anything else, as is
