"""``## Spec``: the resolved spec as YAML (defaults filled in)."""

from __future__ import annotations

import yaml

from harness.report.templates import prose
from harness.results import RunResult


class _SpecDumper(yaml.SafeDumper):
    """Block mappings, but lists of scalars on one line (``eps: [0.0, 0.05, 0.1]``)."""


def _represent_list(dumper: yaml.SafeDumper, value: list | tuple) -> yaml.Node:
    flat = all(not isinstance(v, dict | list | tuple) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=flat)


_SpecDumper.add_representer(list, _represent_list)
_SpecDumper.add_representer(tuple, _represent_list)


def markdown(result: RunResult) -> str:
    text = yaml.dump(result.spec, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True)
    return prose("spec", yaml=text)
