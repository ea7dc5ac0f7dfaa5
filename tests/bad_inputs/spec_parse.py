"""Bad spec files: bounded, UTF-8, one mapping, no aliases, no duplicate keys (issue 13)."""

from __future__ import annotations

from pathlib import Path

from bad_inputs import Case, Setup, custom, spec, spec_bytes


def laughs(levels: int = 9) -> str:
    """The "billion laughs": each level an alias list of the one before (9**levels strings)."""
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "name: x\n" + "\n".join(rows) + "\n"


def _folder_as_spec(tmp: Path) -> list[str]:
    (tmp / "spec.yaml").mkdir()
    return ["validate", str(tmp / "spec.yaml")]


def _validate(text: str) -> Setup:
    return spec(text, command="validate")


CASES = [
    Case("billion_laughs", spec_bytes(laughs().encode()), "anchors and aliases"),
    Case("billion_laughs_run", spec(laughs()), "anchors and aliases"),
    Case("one_alias", _validate("name: x\nseed: &s 1\ndescription: *s\n"), "line 2"),
    Case("merge_key_alias", _validate("base: &b {epochs: 1}\nmodel: {train: {<<: *b}}\n"), "aliases"),
    Case("duplicate_top_key", _validate("name: x\nseed: 1\nseed: 2\n"), "duplicate key 'seed'"),
    Case("duplicate_key_line", _validate("name: x\nseed: 1\neps: [0]\nseed: 2\n"), "(first on line 2)"),
    Case("duplicate_nested_key", _validate("dataset: {name: digits, name: mnist}\n"), "duplicate key 'name'"),
    Case("binary_file", spec_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"), "binary"),
    Case("latin1_file", spec_bytes("name: x\ndescription: café\n".encode("latin-1")), "not UTF-8 text (byte 0xe9 on line 2)"),
    Case("utf16_bom_file", spec_bytes("name: x\n".encode("utf-16")), "UTF-16"),
    Case("utf16_no_bom_file", spec_bytes("name: x\n".encode("utf-16-le")), "NUL bytes"),
    Case("empty_file", spec_bytes(b""), "got an empty file"),
    Case("comments_only_file", spec_bytes(b"# nothing here\n"), "got an empty file"),
    Case("top_level_list", _validate("- name: x\n- seed: 1\n"), "got a list"),
    Case("top_level_scalar", _validate("just words\n"), "got a str"),
    Case("huge_file", spec_bytes(b"name: x\n" + b"#" * (300 << 10) + b"\n"), "too large"),
    Case("deep_nesting", _validate("name: x\ndescription: " + "[" * 100 + "]" * 100 + "\n"), "nested too deep"),
    Case("too_many_values", _validate("name: x\ndescription: [" + "0, " * 5100 + "0]\n"), "too many values"),
    Case("two_documents", _validate("name: x\n---\nname: y\n"), "not valid YAML"),
    Case("python_tag", _validate("name: !!python/object/apply:os.system [echo]\n"), "python/object"),
    Case("impossible_date", _validate("name: x\ndescription: 2001-13-01\n"), "cannot read '2001-13-01'"),
    Case("int_of_5000_digits", _validate("name: x\nseed: " + "9" * 5000 + "\n"), "cannot read"),
    Case("control_character", _validate("name: x\ndescription: a\x07b\n"), "not valid YAML"),
    Case("unclosed_list_run", spec("name: x\neps: [0, 0.1\n"), "not valid YAML"),
    Case("spec_is_a_folder", custom(_folder_as_spec), "spec.yaml is a folder; expected a YAML spec file"),
]  # fmt: skip
