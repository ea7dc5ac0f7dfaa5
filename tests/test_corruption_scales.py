"""Whose severity parameters generate the corruptions: ``auto`` by image side, the spec field."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from harness.corruptions import catalog, generate, scales
from harness.corruptions.evaluate import provenance
from harness.errors import HarnessError
from harness.spec import parse_spec

if importlib.util.find_spec("imagecorruptions") is None:  # the optional extra "corruptions"
    pytest.skip("imagecorruptions is not installed", allow_module_level=True)

SPEC = {"name": "t"}


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((1, 8, 8), "cifar"),
        ((1, 28, 28), "cifar"),
        ((3, 32, 32), "cifar"),
        ((3, 33, 33), "tiny_imagenet"),
        ((3, 32, 48), "tiny_imagenet"),  # the longer side decides
        ((3, 64, 64), "tiny_imagenet"),
        ((3, 65, 65), "imagenet"),
        ((3, 224, 224), "imagenet"),
    ],
)
def test_auto_picks_the_parameters_by_the_image_side(shape, expected) -> None:
    assert scales.resolve("auto", shape).name == expected
    assert scales.resolve("imagenet", shape).name == "imagenet"  # a named set is taken as is


@pytest.mark.parametrize(("side", "sigma"), [(32, 0.10), (64, 0.18)])
def test_auto_gives_the_scripts_noise_at_32_and_64_px(side, sigma) -> None:
    """Gaussian noise at severity 5 on mid-grey: CIFAR-10-C's sigma at 32 px, Tiny-ImageNet-C's
    at 64 px (few values reach the clip at 0.5 +- 2.8 sigma)."""
    x = np.full((4, 3, side, side), 128 / 255, np.float32)
    diff = generate.corrupt(x, "gaussian_noise", 5, seed=0) - x
    assert abs(diff.std() / sigma - 1) < 0.03


def test_auto_keeps_imagenet_c_parameters_at_224_px() -> None:
    """sigma .38 at severity 5 (imagecorruptions, as before): clipped on mid-grey, still far
    above the small scales' .10-.18."""
    x = np.full((1, 3, 224, 224), 128 / 255, np.float32)
    diff = generate.corrupt(x, "gaussian_noise", 5, seed=0) - x
    assert 0.3 < diff.std() < 0.38


def test_every_scale_that_ports_a_script_has_every_corruption() -> None:
    for scale in scales.SCALES:
        if scale.table is not None:
            assert set(scale.table.severities) == set(catalog.ALL), scale.name
            assert all(len(v) == 5 for v in scale.table.severities.values()), scale.name


def test_the_field_defaults_to_auto_and_leaves_hashes_and_run_json_as_they_were() -> None:
    plain = parse_spec({**SPEC, "corruptions": {"names": ["fog"]}})
    auto = parse_spec({**SPEC, "corruptions": {"names": ["fog"], "parameters": "auto"}})
    cifar = parse_spec({**SPEC, "corruptions": {"names": ["fog"], "parameters": "cifar"}})
    assert plain.corruptions.parameters == "auto"
    assert plain.digest() == auto.digest() != cifar.digest()
    assert "parameters" not in plain.to_dict()["corruptions"]
    assert cifar.to_dict()["corruptions"]["parameters"] == "cifar"


def test_a_spec_without_corruptions_keeps_its_hash_and_records_nothing() -> None:
    spec = parse_spec(SPEC)
    assert "corruptions" not in spec.to_dict() and provenance(spec, (3, 32, 32)) == {}


def test_run_json_provenance_names_the_set_auto_chose() -> None:
    spec = parse_spec({**SPEC, "corruptions": {"names": ["fog"]}})
    assert provenance(spec, (1, 8, 8))["corruption_parameters"] == "cifar"
    assert provenance(spec, (3, 64, 64))["corruption_parameters"] == "tiny_imagenet"
    assert provenance(spec, (3, 224, 224))["corruption_parameters"] == "imagenet"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"parameters": "cifar10"}, "corruptions.parameters"),
        ({"parameters": "imagenet", "root": "data/CIFAR-10-C"}, "read as published"),
    ],
)
def test_bad_parameters_are_one_line_naming_the_field(section, message) -> None:
    with pytest.raises(HarnessError, match=message) as err:
        parse_spec({**SPEC, "corruptions": section})
    assert "\n" not in str(err.value)
