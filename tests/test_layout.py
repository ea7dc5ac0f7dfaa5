"""The shape of the code base (issue 15): small modules, one concept each."""

from __future__ import annotations

from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "harness"
MAX_LINES = 400  # a module past this holds more than one concept: split it


def test_no_module_over_400_lines() -> None:
    sizes = {
        p.relative_to(HARNESS.parent).as_posix(): len(p.read_text().splitlines())
        for p in HARNESS.rglob("*.py")
    }
    assert len(sizes) > 50  # the walk found the package
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
