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
from harness.spec.loader import show

MAX_SET_CHARS = 1 << 16  # one --set value
# parts of one --set key: spec fields nest a few levels (defences.0.train.epochs is 4); a key of
# thousands of parts nested the spec past Python's recursion limit (a 3,000-line traceback)
MAX_SET_PARTS = 16
_USAGE = "expected key=value, e.g. seed=1 or defence.ratio=1"


def load_with_overrides(path: str | Path | None, overrides: list[str]) -> Spec:
    """Read a spec file (default: the digits benchmark), apply ``--set`` edits, validate."""
    file = read_spec(path)
    apply_overrides(file.raw, overrides)
    return file.parse(overrides)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a raw spec mapping, in place."""
    for item in overrides:
        key, parts, text = _split(item)
        value = _value(key, text)
        node: Any = raw
        for part, child_key in itertools.pairwise(parts):
            node = _child(node, part, key, mapping=not child_key.isdigit())
        _assign(node, parts[-1], value, key)
    return raw


def _split(item: str) -> tuple[str, list[str], str]:
    """``--set key.sub=text``: the key, its parts (at most ``MAX_SET_PARTS``) and the text."""
    if "=" not in item:
        raise HarnessError(f"--set {item!r}: {_USAGE}")
    key, _, text = item.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not all(parts):
        raise HarnessError(f"--set {item!r}: {_USAGE}")
    if len(parts) > MAX_SET_PARTS:
        raise HarnessError(
            f"--set {show(key)}: a key of {len(parts)} parts; expected at most "
            f"{MAX_SET_PARTS}, e.g. dataset.n_test=500"
        )
    return key, parts, text


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
