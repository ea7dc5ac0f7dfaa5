"""Spec parsing: units converted once, every bad value a one-line error naming its field."""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from harness.errors import HarnessError
from harness.overrides import MAX_SET_CHARS, apply_overrides
from harness.spec import (
    DEFAULT_SPEC,
    MAX_SPEC_BYTES,
    MAX_YAML_NODES,
    DataSpec,
    load_spec,
    load_yaml,
    merge,
    parse_float,
    parse_spec,
    yaml_problem,
)


def test_fraction_strings_become_pixel_floats() -> None:
    assert parse_float("8/255", "eps") == pytest.approx(8 / 255)
    assert parse_float(" 2 / 255 ", "eps") == pytest.approx(2 / 255)
    assert parse_float("0.03", "eps") == 0.03
    spec = parse_spec({"name": "x", "eps": [0, "2/255", "8/255"]})
    assert spec.eps == pytest.approx((0.0, 2 / 255, 8 / 255))


def test_default_spec_is_valid() -> None:
    spec = load_spec(None)
    assert spec.name == "digits_fgsm" and DEFAULT_SPEC.is_file()
    assert len(spec.defences) == 1 and spec.defences[0].train is None  # the baseline's
    assert spec.defences[0].key == "robust" and spec.defences[0].params["eps"] == 0.15


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"epss": [0.1]}, "epss: unknown field"),
        ({"eps": [0.1, 0.05]}, "eps: expected increasing"),
        ({"eps": [1.5]}, "eps[0]"),
        ({"eps": ["8/0"]}, "eps[0]"),
        ({"seed": -1}, "seed"),
        ({"dataset": {"n_tset": 5}}, "dataset.n_tset: unknown field"),
        ({"model": {"train": {"epochs": "five"}}}, "model.train.epochs"),
        ({"defence": {"train": {"lr": "fast"}}}, "defence.train.lr"),
        ({"defences": [{"name": "jpeg"}, {"name": "jpeg"}]}, "defences[1]: model name 'jpeg'"),
        ({"defences": [{"name": "jpeg", "label": "baseline"}]}, "defences[0]: model name"),
        ({"defences": {"name": "jpeg"}}, "defences: expected a list"),
        ({"defence": {}, "defences": []}, "defence/defences: give one"),
        ({"model": {"builder": "nofile"}}, "model.builder"),
        ({"version": 9}, "version"),
        ({"name": "a b"}, "name"),
    ],
)
def test_bad_values_name_their_field(raw: dict, field: str) -> None:
    with pytest.raises(HarnessError) as info:
        parse_spec({"name": "x", **raw})
    msg = str(info.value)
    assert field in msg and "\n" not in msg


def test_unknown_field_suggests_the_right_one() -> None:
    with pytest.raises(HarnessError, match="did you mean 'n_test'"):
        parse_spec({"name": "x", "dataset": {"n_tset": 5}})


def test_overrides_are_parsed_as_yaml() -> None:
    raw = apply_overrides({"defence": None}, ["seed=3", "defence.ratio=1", "eps=[0, 8/255]"])
    spec = parse_spec({"name": "x", **raw})
    assert spec.seed == 3 and spec.defences[0].params == {"ratio": 1}
    assert spec.eps[1] == pytest.approx(8 / 255)


def test_overrides_index_lists() -> None:
    raw = {"attacks": ["fgsm", {"name": "pgd"}], "defences": [{"name": "jpeg"}, "trades"]}
    raw = apply_overrides(raw, ["attacks.1.steps=5", "defences.1.eps=4/255", "attacks.0.label=f"])
    spec = parse_spec({"name": "x", **raw})
    assert spec.attacks[1].params == {"steps": 5} and spec.attacks[0].key == "f"
    assert spec.defences[1].params == {"eps": pytest.approx(4 / 255)}
    assert [d.key for d in spec.defences] == ["jpeg", "trades"]
    with pytest.raises(HarnessError, match="'7' is not an index of a 2-item list"):
        apply_overrides(raw, ["defences.7.eps=1"])


def test_defence_null_disables_hardening_and_digest_tracks_content() -> None:
    a, b = parse_spec({"name": "x", "defence": None}), parse_spec({"name": "x"})
    assert a.defences == () and len(b.defences) == 1
    assert a.digest() != b.digest() and b.digest() == parse_spec({"name": "x"}).digest()


def test_unreadable_and_invalid_yaml_files(tmp_path) -> None:
    with pytest.raises(HarnessError, match="cannot read spec file"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("eps: [0, 0.1\n")
    with pytest.raises(HarnessError, match="not valid YAML"):
        load_spec(bad)


# ---------------------------------------------------------------- bounded YAML (issue 13)


def _laughs(levels: int) -> str:
    """Nested alias lists: ``levels`` levels expand to 9**levels strings (9 levels: 387 M)."""
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "name: x\n" + "\n".join(rows) + "\n"


def test_billion_laughs_is_refused_fast_and_small(tmp_path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(_laughs(9), encoding="utf-8")
    assert path.stat().st_size < 600
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(HarnessError, match="anchors and aliases"):
        load_spec(path)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 0.5 and peak < 5_000_000  # bytes; expanding it took 2.7 GB


def test_loader_keeps_safe_load_semantics() -> None:
    text = (DEFAULT_SPEC.parent / "cifake_defences.yaml").read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)
    assert load_yaml("a: [1, 2.5, 8/255, null, true, '7']") == {
        "a": [1, 2.5, "8/255", None, True, "7"]
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: &x 1\nb: *x\n", "line 1, column 4: anchors and aliases"),
        ("a: 1\nb: 2\na: 3\n", "line 3, column 1: duplicate key 'a' (first on line 1)"),
        ("m: {k: 1, k: 2}\n", "duplicate key 'k'"),
        ("a: " + "[" * 40 + "]" * 40, "nested too deep"),
        ("a: [" + "0, " * MAX_YAML_NODES + "0]", "too many values"),
        ("d: 2001-13-01\n", "cannot read '2001-13-01'"),
        ("n: " + "9" * 5000, "cannot read '999"),
        ("a: !!python/name:os.system\n", "could not determine a constructor"),
    ],
)
def test_loader_refuses_with_a_line_and_column(text: str, problem: str) -> None:
    with pytest.raises(yaml.YAMLError) as info:
        load_yaml(text)
    assert problem in yaml_problem(info.value) and "\n" not in yaml_problem(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"x" * (MAX_SPEC_BYTES + 1), "too large"),
        (b"name: x\x00\x01", "NUL bytes"),
        ("name: é\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 on line 1)"),
        ("name: x\n".encode("utf-16"), "UTF-16 text"),
        (b"", "got an empty file"),
        (b"- a\n- b\n", "got a list"),
    ],
)
def test_bad_files_are_one_line_naming_the_file(tmp_path, data: bytes, message: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(data)
    with pytest.raises(HarnessError) as info:
        load_spec(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)
    assert "\n" not in str(info.value)


def test_utf8_with_a_byte_order_mark_is_read(tmp_path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("name: cafe_fgsm\ndescription: café\n".encode("utf-8-sig"))
    spec = load_spec(path)
    assert spec.name == "cafe_fgsm" and spec.description == "café"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("eps=", "--set eps=: empty value"),
        ("eps=  ", "--set eps=: empty value"),
        ("=1", "expected key=value"),
        ("a..b=1", "expected key=value"),
        ("description=[&a [1, 1], *a, *a]", "anchors and aliases"),
        ("dataset={name: a, name: b}", "duplicate key 'name'"),
        ("description=" + "x" * (MAX_SET_CHARS + 1), "value too large"),
    ],
)
def test_overrides_are_bounded_like_the_file(override: str, message: str) -> None:
    with pytest.raises(HarnessError, match=re.escape(message)):
        apply_overrides({}, [override])


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"seed": 2**32}, "seed: expected an integer in [0, 4294967295]"),
        ({"seed": 2**32 - 1}, None),
        ({"grid": {"seeds": [2**32]}}, "grid.seeds[0]"),
        ({"eps": [0, 0.1, "1/10"]}, "eps[2]: 0.1 is also eps[1]"),
        ({"eps": None}, "eps: expected a value, got null"),
        ({"attacks": None}, "attacks: expected a value, got null"),
        ({"model": {"train": {"lr": 0}}}, "model.train.lr"),
        ({"model": {"mean": [0.5], "std": [0.0]}}, "model.std"),
        ({"model": {"mean": [float("nan")], "std": [1.0]}}, "model.mean"),
        ({"threads": 257}, "threads"),
        ({"dataset": {"image_size": 1025}}, "dataset.image_size"),
        ({"evasion": {"eps_max": 0.01, "eps_step": 0.02}}, "evasion.eps_step"),
        ({"description": {"a": 1}}, "description"),
        ({"name": "."}, "name"),
        ({"defences": [{"name": "jpeg", "label": ".."}]}, "defences[0].label"),
    ],
)
def test_values_that_used_to_fail_later(raw: dict, field: str | None) -> None:
    if field is None:
        assert parse_spec({"name": "x", **raw}).seed == raw["seed"]
        return
    with pytest.raises(HarnessError) as info:
        parse_spec({"name": "x", **raw})
    assert field in str(info.value) and "\n" not in str(info.value)


def _safe_load_with_includes(path: Path) -> dict:
    """A spec file read by ``yaml.safe_load``, its includes merged in the same way."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = raw.pop("include", [])
    base: dict = {}
    for name in [names] if isinstance(names, str) else names:
        base = merge(base, _safe_load_with_includes(path.parent / name))
    return merge(base, raw)


def test_every_benchmark_still_parses_to_the_same_spec() -> None:
    for path in sorted(DEFAULT_SPEC.parent.glob("*.yaml")):
        raw = _safe_load_with_includes(path)
        assert load_spec(path) == parse_spec(raw, source=str(path)), path.name


def test_subset_sizes_up_to_the_split_are_accepted_above_are_refused() -> None:
    from harness.datasets import load_dataset

    full = load_dataset(DataSpec(name="digits"), 0)
    n_train, n_test = len(full.y_train), len(full.y_test)
    exact = load_dataset(DataSpec(name="digits", n_train=n_train, n_test=n_test), 0)
    assert len(exact.y_test) == n_test and len(exact.y_train) == n_train
    with pytest.raises(HarnessError, match=f"dataset.n_test: {n_test + 1} .* has {n_test}"):
        load_dataset(DataSpec(name="digits", n_test=n_test + 1), 0)
    with pytest.raises(HarnessError, match=f"dataset.n_train: {n_train + 1} .* has {n_train}"):
        load_dataset(DataSpec(name="digits", n_train=n_train + 1), 0)
