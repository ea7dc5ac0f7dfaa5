"""Bad ``include:`` lines: a loop, a missing file, a bad value, a bad included file."""

from __future__ import annotations

from bad_inputs import TINY, Case, with_files

CASES = [
    Case("include_itself", with_files({}, "include: spec.yaml\n"), "include: spec.yaml: a loop of includes (spec.yaml -> spec.yaml)"),
    Case("include_loop", with_files({"base.yaml": "include: spec.yaml\n"}, "include: base.yaml\n"), "base.yaml: include: spec.yaml: a loop of includes"),
    Case("include_missing", with_files({}, "include: nothere.yaml\n"), "include: nothere.yaml: no such file"),
    Case("include_a_number", with_files({}, "include: 3\n"), "include: expected a file name or a list of file names, got 3"),
    Case("include_a_list_file", with_files({"base.yaml": "- 1\n"}, "include: base.yaml\n"), "base.yaml: expected a YAML mapping"),
    Case("include_a_typo", with_files({"base.yaml": TINY + "sed: 1\n"}, "include: base.yaml\n"), "sed: unknown field"),
    Case("include_aliases", with_files({"base.yaml": "seed: &s 1\n"}, "include: base.yaml\n"), "anchors and aliases"),
]  # fmt: skip
