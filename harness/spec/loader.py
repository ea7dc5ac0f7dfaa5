"""Bounded YAML: ``yaml.safe_load`` semantics with limits on what a spec may cost to read.

The largest benchmark is ~2 KB and ~170 YAML nodes; without the bounds a 550-byte "billion
laughs" spec (nested aliases) took 2.7 GB to parse. Every refusal is one line naming the file
(or, for text, the line and column).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError
from harness.userfiles import open_regular

MAX_SPEC_BYTES = 1 << 18  # 256 KiB, a spec file (PyYAML reads ~0.5 MB/s: a bound in time too)
MAX_YAML_NODES = 5_000  # scalars, lists and mappings in one document (~15x the largest grid)
MAX_YAML_DEPTH = 32  # nesting of lists and mappings (PyYAML's composer recurses per level)


class SpecLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics with bounds: no anchors or aliases (the "billion laughs"
    expansion), no duplicate keys, at most ``MAX_YAML_NODES`` nodes ``MAX_YAML_DEPTH`` deep."""

    def __init__(self, stream: str, max_nodes: int = MAX_YAML_NODES) -> None:
        super().__init__(stream)
        self.max_nodes = max_nodes  # less than MAX_YAML_NODES for a file included by another
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refusal("anchors and aliases (&name, *name) are not allowed", event)
        self._nodes += 1
        if self._nodes > self.max_nodes:
            raise _refusal(f"too many values; expected at most {MAX_YAML_NODES}", event)
        if self._depth >= MAX_YAML_DEPTH:
            raise _refusal(f"nested too deep; expected at most {MAX_YAML_DEPTH} levels", event)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        self._refuse_duplicates(node)
        return super().construct_mapping(node, deep)

    def _refuse_duplicates(self, node: Any) -> None:
        first: dict[Any, int] = {}  # key -> its line
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # SafeLoader refuses it with its own message
            if key in first:
                raise _refusal(f"duplicate key {show(key)} (first on line {first[key]})", key_node)
            first[key] = key_node.start_mark.line + 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # a date 2001-13-01, an int of 5,000 digits
            raise _refusal(f"cannot read {show(node.value)} ({show(str(exc))})", node) from None


def _refusal(problem: str, where: Any) -> yaml.MarkedYAMLError:
    """A YAML error at ``where`` (a node or an event): its line and column, and the problem."""
    return yaml.MarkedYAMLError(problem=problem, problem_mark=where.start_mark)


def load_yaml(text: str) -> Any:
    """Parse one YAML document with ``SpecLoader``; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=SpecLoader)  # a SafeLoader subclass: no Python objects


@dataclass
class Budget:
    """What is left to read of one spec and the files it includes: the bounds hold for all."""

    bytes: int = MAX_SPEC_BYTES
    nodes: int = MAX_YAML_NODES


def _load_counted(text: str, budget: Budget) -> Any:
    """``load_yaml`` within ``budget.nodes``; takes the nodes it read from the budget."""
    loader = SpecLoader(text, budget.nodes)
    try:
        return loader.get_single_data()
    finally:
        budget.nodes -= loader._nodes
        loader.dispose()


def yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where in the text and what is wrong."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark, context = exc.problem_mark, f"{exc.context}, " if exc.context else ""
        return f"line {mark.line + 1}, column {mark.column + 1}: {context}{exc.problem}"
    return " ".join(str(exc).split())


def read_spec_text(path: Path, budget: Budget | None = None) -> str:
    """The file's text: within the byte budget, UTF-8, not binary; else one line naming it."""
    budget = budget or Budget()
    try:
        with open_regular(path, "a YAML spec file") as f:  # a bounded read of a regular file
            data = f.read(budget.bytes + 1)
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read spec file ({exc.strerror})") from None
    if len(data) > budget.bytes:
        raise HarnessError(
            f"{path}: spec file too large; expected at most {MAX_SPEC_BYTES} bytes"
            + ("" if budget.bytes == MAX_SPEC_BYTES else " with the files it includes")
        )
    budget.bytes -= len(data)
    return _decode(data, path)


def _decode(data: bytes, path: Path) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 (or UTF-32 LE) byte-order mark
        raise HarnessError(f"{path}: UTF-16 text; expected a UTF-8 YAML spec")
    if b"\x00" in data:
        raise HarnessError(f"{path}: binary or UTF-16 (NUL bytes); expected a UTF-8 YAML spec")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HarnessError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "expected a UTF-8 YAML spec"
        ) from None


def read_mapping(path: Path, budget: Budget | None = None) -> dict[str, Any]:
    """The file's top-level mapping, read with ``SpecLoader`` within ``budget``; one line
    naming the file."""
    budget = budget or Budget()
    text = read_spec_text(path, budget)
    try:
        raw = _load_counted(text, budget)
    except yaml.YAMLError as exc:
        raise HarnessError(f"{path}: not valid YAML ({yaml_problem(exc)})") from None
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"a {type(raw).__name__}"
        raise HarnessError(
            f"{path}: expected a YAML mapping (key: value) at the top level, got {got}"
        )
    return raw


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so an error stays one readable line."""
    return shorten(repr(value), limit)


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, ending in "..." when cut."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
