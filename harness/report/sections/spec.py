"""``## Spec``: the resolved spec as YAML, as run.json stores it (defaults filled in, less the
settings it leaves out at their defaults so older runs' specs read the same), and which of it a
zoo model does not use."""

from __future__ import annotations

import yaml

from harness.report.templates import prose
from harness.results import RunResult

# Settings run.json's spec leaves out at their defaults (harness.spec.document: to_dict and
# _without_default_extras), with those defaults in words.
LEFT_OUT = {
    "sanity": "`sanity` (probes on, 256 samples)",
    "weights": "`weights` (analysis on, the harness's own fit)",
    "device": "`device: auto`",
    "amp": "`amp: false`",
    "reproducible": "`reproducible: standard`",
}


class _SpecDumper(yaml.SafeDumper):
    """Block mappings, but lists of scalars on one line (``eps: [0.0, 0.05, 0.1]``)."""


def _represent_list(dumper: yaml.SafeDumper, value: list | tuple) -> yaml.Node:
    flat = all(not isinstance(v, dict | list | tuple) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=flat)


_SpecDumper.add_representer(list, _represent_list)
_SpecDumper.add_representer(tuple, _represent_list)


def markdown(result: RunResult) -> str:
    text = yaml.dump(result.spec, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True)
    left_out = [words for k, words in LEFT_OUT.items() if k not in result.spec]
    zoo = bool((result.spec.get("model") or {}).get("zoo"))
    return prose("spec", yaml=text, left_out=left_out, zoo=zoo)
