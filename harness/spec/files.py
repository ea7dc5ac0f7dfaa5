"""Spec files: read one, with the files it includes, and parse it.

``include: base.yaml`` (or a list of files; each path relative to the including file) starts the
spec from those files; the including file's keys win. Mappings merge key by key at every
depth; anything else (a list, a number, ``null``) replaces what it overrides whole, so
``attacks: [fgsm]`` replaces the included attacks rather than adding to them. The size and node
bounds of one spec file hold for a file and everything it includes together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.spec import catalog
from harness.spec.document import Spec, parse_spec
from harness.spec.loader import Budget, read_mapping
from harness.userfiles import not_regular, refusal

# benchmarks/digits_fgsm.yaml (in an installed wheel: harness/benchmarks/digits_fgsm.yaml)
DEFAULT_SPEC = catalog.resolve(None)
INCLUDE = "include"


@dataclass
class SpecFile:
    """A spec file's mapping with its includes merged in, before any checks."""

    path: Path
    raw: dict[str, Any]
    includes: tuple[str, ...] = ()  # every file read besides ``path``, in reading order

    def parse(self, overrides: Sequence[str] = ()) -> Spec:
        """The validated spec; an error names this file, or the ``--set`` override that wrote
        the field it is about (``overrides``: the ``key=value`` texts applied to ``raw``)."""
        try:
            return parse_spec(self.raw, source=str(self.path), includes=self.includes)
        except HarnessError as exc:
            raise HarnessError(blamed(str(exc), self.path, overrides)) from None


def blamed(message: str, source: str | Path, overrides: Sequence[str]) -> str:
    """A validation ``message`` (``field: ...``) prefixed with what wrote that field: the
    ``--set`` override (the last whose key is the field or lies above or below it), else the
    spec file ``source``."""
    item = override_of(message, overrides)
    return f"{'--set ' + item if item else source}: {message}"


def override_of(message: str, overrides: Sequence[str]) -> str | None:
    """The last override whose key is the field a validation ``message`` names (``field: ...``),
    or lies above or below it; None when the file's own text is at fault."""
    field = _parts(message.partition(": ")[0])
    for item in reversed(overrides):
        key = _parts(item.partition("=")[0])
        n = min(len(key), len(field))
        if n and key[:n] == field[:n]:
            return item
    return None


def _parts(path: str) -> list[str]:
    """``attacks[0].eps`` -> ["attacks", "0", "eps"]."""
    return [p for p in re.split(r"[.\[\]]", path.strip()) if p]


def read_spec(path: str | Path | None = None) -> SpecFile:
    """Read a YAML spec file, or a shipped benchmark by name (default: the digits benchmark),
    and the files it includes."""
    path = catalog.resolve(path)
    included: list[str] = []
    raw = _resolve(path, Budget(), (), included)
    return SpecFile(path, raw, tuple(included))


def load_spec(path: str | Path | None = None) -> Spec:
    """Read, merge and validate a spec file or shipped benchmark (default: the digits one)."""
    return read_spec(path).parse()


def _resolve(
    path: Path, budget: Budget, chain: tuple[Path, ...], read: list[str]
) -> dict[str, Any]:
    """``path``'s mapping over the mappings of the files it includes (recursively)."""
    raw = read_mapping(path, budget)
    if INCLUDE not in raw:
        return raw
    chain = (*chain, path.resolve())
    base: dict[str, Any] = {}
    for name in _names(raw.pop(INCLUDE), path):
        target = path.parent / name
        if target.resolve() in chain:
            loop = " -> ".join(p.name for p in (*chain, target))
            raise HarnessError(f"{path}: include: {name}: a loop of includes ({loop})")
        what = not_regular(target)
        if what:
            raise refusal(name, what, "a YAML spec file", f"{path}: include")
        if not target.is_file():
            raise HarnessError(f"{path}: include: {name}: no such file ({target})")
        read.append(str(target))
        base = merge(base, _resolve(target, budget, chain, read))
    return merge(base, raw)


def _names(value: Any, path: Path) -> list[str]:
    """``include:``'s value: a file name, or a non-empty list of them."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        names = [None]
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise HarnessError(
                f"{path}: include: expected a file name or a list of file names, got {value!r}"
            )
    return names


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``: mappings merge key by key, anything else replaces whole."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
