"""The command-line and spec reference page (``docs/reference.md``), generated from the code:
the parser's own help for every command and the spec's JSON Schema (``harness schema``), so
the page cannot drift from what the harness accepts. ``python -m harness.reference`` rewrites it;
a test fails when the committed page differs from what this makes."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.spec.checks import FRACTION_TEXT

WIDTH = "100"  # argparse wraps help text to $COLUMNS: fixed, so the page is the same everywhere
PAGE = Path("docs") / "reference.md"
FRACTION = "a fraction such as 8/255"


def render() -> str:
    """The whole page as Markdown."""
    from harness.cli import _parser
    from harness.spec.document import spec_schema

    with _columns(WIDTH):
        parser = _parser()
        parser.prog = "harness"
        parts = ["# Reference", "", "Generated from the code by `python -m harness.reference`.", ""]
        parts += ["## Commands", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, sub in _subcommands(parser).items():
            parts += [f"### harness {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    parts += ["## Spec keys", "", _spec_table(spec_schema()), ""]
    return "\n".join(parts)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def _spec_table(schema: dict[str, Any], prefix: str = "") -> str:
    """One row per key (sections' keys under their section, dotted), its type and default."""
    rows = ["| key | accepts | default |", "| --- | --- | --- |"] if not prefix else []
    for key, prop in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        default = json.dumps(prop["default"]) if "default" in prop else ""
        rows.append(f"| `{name}` | {_accepts(prop)} | {default and f'`{default}`'} |")
        section = _section(prop)
        if section is not None:
            rows.append(_spec_table(section, f"{name}."))
    return "\n".join(rows)


def _section(prop: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema a key holds (directly or as one of its alternatives), else None."""
    if prop.get("type") == "object" and prop.get("properties"):
        return prop
    for alt in prop.get("anyOf", []):
        found = _section(alt)
        if found is not None:
            return found
    return None


def _accepts(prop: dict[str, Any]) -> str:
    """A short reading of a schema: "integer ≥ 1 or null", "one of: a, b", ..."""
    if "enum" in prop:
        return "one of: " + ", ".join(str(v) for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "anyOf" in prop:
        seen = [s for s in dict.fromkeys(_accepts(a) for a in prop["anyOf"]) if s]
        text = " or ".join(s for s in seen if s != FRACTION)
        return f"{text} (a fraction such as 8/255 too)" if FRACTION in seen else text
    if prop == FRACTION_TEXT:
        return FRACTION
    kind = prop.get("type", "")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array":
        return f"list of {_accepts(prop.get('items', {})) or 'values'}"
    if kind == "object":
        return "mapping"
    low = (f"[{prop['minimum']}" if "minimum" in prop else None) or (
        f"({prop['exclusiveMinimum']}" if "exclusiveMinimum" in prop else None
    )
    if low and "maximum" in prop:
        return f"{kind} in {low}, {prop['maximum']}]"
    if low:
        return f"{kind} {'≥' if low[0] == '[' else '>'} {low[1:]}"
    return f"{kind} ≤ {prop['maximum']}" if "maximum" in prop else kind


@contextlib.contextmanager
def _columns(width: str) -> Iterator[None]:
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = before


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else PAGE
    target.write_text(render(), encoding="utf-8")
    print(f"reference: {target}")
