"""Spec parsing: units converted once, every bad value a one-line error naming its field."""

from __future__ import annotations

import pytest

from harness.errors import HarnessError
from harness.spec import DEFAULT_SPEC, apply_overrides, load_spec, parse_float, parse_spec


def test_fraction_strings_become_pixel_floats() -> None:
    assert parse_float("8/255", "eps") == pytest.approx(8 / 255)
    assert parse_float(" 2 / 255 ", "eps") == pytest.approx(2 / 255)
    assert parse_float("0.03", "eps") == 0.03
    spec = parse_spec({"name": "x", "eps": [0, "2/255", "8/255"]})
    assert spec.eps == pytest.approx((0.0, 2 / 255, 8 / 255))


def test_default_spec_is_valid() -> None:
    spec = load_spec(None)
    assert spec.name == "digits_fgsm" and DEFAULT_SPEC.is_file()
    assert spec.defence is not None and spec.defence.train == spec.model.train


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
        ({"defence": {"ratio": 0}}, "defence.ratio"),
        ({"defence": {"eps_train": 2}}, "defence.eps_train"),
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
    assert spec.seed == 3 and spec.defence is not None and spec.defence.ratio == 1.0
    assert spec.eps[1] == pytest.approx(8 / 255)


def test_defence_null_disables_hardening_and_digest_tracks_content() -> None:
    a, b = parse_spec({"name": "x", "defence": None}), parse_spec({"name": "x"})
    assert a.defence is None and b.defence is not None
    assert a.digest() != b.digest() and b.digest() == parse_spec({"name": "x"}).digest()


def test_unreadable_and_invalid_yaml_files(tmp_path) -> None:
    with pytest.raises(HarnessError, match="cannot read spec file"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("eps: [0, 0.1\n")
    with pytest.raises(HarnessError, match="not valid YAML"):
        load_spec(bad)
