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
