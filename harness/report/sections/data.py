"""``## Data``: the dataset, its classes, split sizes, input shape, test samples per class."""

from __future__ import annotations

from typing import Any

from harness.reading import DASH, table
from harness.results import RunResult

# the keys of ``RunResult.data`` rendered by name (see harness.runner); others are listed as is
DATA_KEYS = {"name", "source", "class_names", "input_shape", "test_class_counts"}
DATA_KEYS |= {"n_train", "n_val", "n_test"}


def markdown(result: RunResult) -> str:
    return "## Data\n\n" + table(["", "value"], rows(result.data))


def rows(data: dict[str, Any]) -> list[tuple[str, Any]]:
    names = [str(c) for c in data.get("class_names", [])]
    shown = ", ".join(names[:20]) + (", …" if len(names) > 20 else "")
    sizes = [data.get(k) for k in ("n_train", "n_val", "n_test")]
    shape = data.get("input_shape")
    out = [
        ("dataset", data.get("name", DASH)),
        ("source", f"`{data['source']}`" if data.get("source") else DASH),
        ("classes", f"{len(names)}: {shown}"),
        ("train / val / test", " / ".join(DASH if s is None else f"{s:,}" for s in sizes)),
        ("input shape (C × H × W)", " × ".join(map(str, shape)) if shape else DASH),
    ]
    counts = data.get("test_class_counts")
    if counts:
        per_class = ", ".join(f"{n}: {c}" for n, c in zip(names, counts, strict=False))
        out.append(("test samples per class", per_class))
    return out + [(k, v) for k, v in data.items() if k not in DATA_KEYS]  # anything else, as is
