"""``--set key.sub=value``: the command line's edits of a spec file, before it is validated.

Values are YAML, read with the spec file's bounds; a numeric part indexes a list
(``defences.1.eps=0.1``, ``attacks.0.steps=20``). The edits apply to the file's mapping after
its includes are merged, so ``--set`` overrides included values too.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError
from harness.spec import Spec, load_yaml, read_spec, yaml_problem

MAX_SET_CHARS = 1 << 16  # one --set value
_USAGE = "expected key=value, e.g. seed=1 or defence.ratio=1"


def load_with_overrides(path: str | Path | None, overrides: list[str]) -> Spec:
    """Read a spec file (default: the digits benchmark), apply ``--set`` edits, validate."""
    file = read_spec(path)
    apply_overrides(file.raw, overrides)
    return file.parse(overrides)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a raw spec mapping, in place."""
    for item in overrides:
        if "=" not in item:
            raise HarnessError(f"--set {item!r}: {_USAGE}")
        key, _, text = item.partition("=")
        parts = key.strip().split(".")
        if not all(parts):
            raise HarnessError(f"--set {item!r}: {_USAGE}")
        value = _value(key.strip(), text)
        node: Any = raw
        for part, child_key in itertools.pairwise(parts):
            node = _child(node, part, key, mapping=not child_key.isdigit())
        _assign(node, parts[-1], value, key)
    return raw


def _value(key: str, text: str) -> Any:
    """The YAML value of ``--set key=text``, read with the spec's bounds; never empty."""
    if not text.strip():
        raise HarnessError(f"--set {key}=: empty value; give one (null clears a section)")
    if len(text) > MAX_SET_CHARS:  # characters: argv may hold undecodable bytes (surrogates)
        raise HarnessError(
            f"--set {key}: value too large; expected at most {MAX_SET_CHARS} characters"
        )
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        raise HarnessError(f"--set {key}: not a valid YAML value ({yaml_problem(exc)})") from None


def _child(node: Any, part: str, key: str, mapping: bool) -> Any:
    """The mapping or list at ``part`` of ``node``, made when absent (or null)."""
    if isinstance(node, list):
        index = _index(node, part, key)
        if isinstance(node[index], str):  # `- fgsm` -> {name: fgsm}
            node[index] = {"name": node[index]}
        return node[index]
    if not isinstance(node, dict):
        raise HarnessError(f"--set {key}: {part!r} is not inside a mapping or list")
    child = node.get(part)
    if child is None or child is False:
        child = node[part] = {} if mapping else []
    if not isinstance(child, dict | list):
        raise HarnessError(f"--set {key}: {part!r} is not a mapping")
    return child


def _assign(node: Any, part: str, value: Any, key: str) -> None:
    if isinstance(node, list):
        node[_index(node, part, key)] = value
    else:
        node[part] = value


def _index(node: list[Any], part: str, key: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise HarnessError(f"--set {key}: {part!r} is not an index of a {len(node)}-item list")
    return int(part)
