"""Common corruptions: generation, the CIFAR-C layout, the standard metrics, the spec section."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from harness.corruptions import cifar_c, generate, reference, store
from harness.corruptions.catalog import ALL, CORRUPTIONS, FAMILIES
from harness.corruptions.evaluate import corrupted_sets, subset_indices
from harness.corruptions.scales import resolve
from harness.errors import HarnessError
from harness.results import bits
from harness.results.corruption import (
    CorruptionAccuracy,
    corruption_error,
    summarize,
    summarize_named,
)
from harness.results.paired import paired_changes
from harness.spec import load_spec, parse_spec
from harness.spec.corruption import CorruptionSpec
from harness.stats import mcnemar

if importlib.util.find_spec("imagecorruptions") is None:  # the optional extra "corruptions"
    pytest.skip("imagecorruptions is not installed", allow_module_level=True)


def images(n: int, c: int, size: int) -> np.ndarray:
    """Smooth images in [0, 1] with some texture: blurs and contrast have something to change."""
    rng = np.random.default_rng(size + c)
    base = np.linspace(0.1, 0.9, size, dtype=np.float32)[None, None, :, None]
    noise = rng.random((n, c, size, size), dtype=np.float32) * 0.3
    return np.clip(base + noise - 0.15, 0, 1).astype(np.float32)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(("c", "size"), [(1, 8), (3, 32)])
def test_every_corruption_changes_the_image_and_keeps_shape_and_range(name, c, size) -> None:
    x = images(2, c, size)
    out = generate.corrupt(x, name, 3, seed=0)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    q = np.round(x * 255) / 255  # the uint8 round trip imagecorruptions works in
    if (name, c) == ("saturate", 1):  # a grey image has no saturation to change
        assert np.allclose(out, q, atol=1.5 / 255)
    else:
        assert np.abs(out - q).max() > 1.5 / 255


def test_severity_zero_is_the_identity() -> None:
    x = images(3, 3, 32)
    assert np.array_equal(generate.corrupt(x, "gaussian_noise", 0, seed=0), x)


def test_generation_is_deterministic_per_image_and_leaves_numpy_state() -> None:
    x = images(4, 3, 32)
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    a = generate.corrupt(x, "shot_noise", 2, seed=1)
    assert np.array_equal(np.random.get_state()[1], before)
    assert np.array_equal(a, generate.corrupt(x, "shot_noise", 2, seed=1))
    # image i's corruption depends on its index, not on the other images
    assert np.array_equal(a[:2], generate.corrupt(x[:2], "shot_noise", 2, seed=1))
    assert not np.array_equal(a, generate.corrupt(x, "shot_noise", 2, seed=2))


def test_the_cache_returns_what_was_generated(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    x, idx = images(5, 1, 8), np.array([0, 2, 3, 4])
    key = store.digest(x, idx, size=3)
    first = np.concatenate(
        list(store.corrupted(x, idx, "fog", 4, 0, 3, key, resolve("auto", x.shape[1:])))
    )
    assert np.array_equal(first, generate.corrupt(x, "fog", 4, seed=0)[idx])
    files = list((tmp_path / "corruptions").glob("fog-4-*.npy"))
    assert len(files) == 1 and np.load(files[0]).dtype == np.uint8  # a quarter of float32
    monkeypatch.setattr(generate, "pixels", None)  # read back, not generated again
    assert np.array_equal(
        np.concatenate(
            list(store.corrupted(x, idx, "fog", 4, 0, 2, key, resolve("auto", x.shape[1:])))
        ),
        first,
    )


def test_a_set_abandoned_half_way_leaves_no_cache_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    x, idx = images(5, 1, 8), np.arange(5)
    parts = store.corrupted(x, idx, "fog", 4, 0, 2, store.digest(x, idx, 2), resolve("cifar", ()))
    next(parts)
    parts.close()
    assert list((tmp_path / "corruptions").iterdir()) == []


def test_cifar_c_loader_reads_the_official_layout(tmp_path) -> None:
    per = 4  # 5 severities x 4 images, as CIFAR-10-C's 5 x 10,000
    data = np.arange(5 * per * 32 * 32 * 3, dtype=np.int64).reshape(5 * per, 32, 32, 3) % 256
    np.save(tmp_path / "fog.npy", data.astype(np.uint8))
    np.save(tmp_path / "labels.npy", np.tile(np.arange(per), 5).astype(np.uint8))
    parts = list(cifar_c.chunks(tmp_path, "fog", 3, 3, size=2))
    assert [len(xc) for xc, _ in parts] == [2, 1]  # a chunk at a time
    x, y = np.concatenate([xc for xc, _ in parts]), np.concatenate([yc for _, yc in parts])
    assert x.shape == (3, 3, 32, 32) and x.dtype == np.float32
    expected = data[2 * per : 2 * per + 3].transpose(0, 3, 1, 2).astype(np.float32) / 255
    assert np.array_equal(x, expected)
    assert y.tolist() == [0, 1, 2]
    with pytest.raises(HarnessError, match=r"snow\.npy does not exist"):
        next(cifar_c.chunks(tmp_path, "snow", 1, None, 2))


def rows(model: str, err: dict[str, list[float]]) -> list[CorruptionAccuracy]:
    return [
        CorruptionAccuracy(model, c, "noise", s + 1, 1 - e, 10)
        for c, errs in err.items()
        for s, e in enumerate(errs)
    ]


def test_mce_of_the_baseline_is_100_and_others_scale_by_errors() -> None:
    base = {"fog": [0.2, 0.4], "snow": [0.3, 0.5]}
    robust = {"fog": [0.1, 0.2], "snow": [0.6, 1.0]}
    clean = {"baseline": 0.9, "robust": 0.8}
    out = {
        s.model: s
        for s in summarize(rows("baseline", base) + rows("robust", robust), clean, "baseline")
    }
    assert out["baseline"].mce == pytest.approx(100.0)
    assert out["baseline"].relative_mce == pytest.approx(100.0)
    assert out["robust"].ce == pytest.approx({"fog": 50.0, "snow": 200.0})
    assert out["robust"].mce == pytest.approx(125.0)
    # relative CE: (0.1-0.2 + 0.2-0.2) / (0.2-0.1 + 0.4-0.1) = -25 %; snow (0.4+0.8)/(0.2+0.4)
    assert out["robust"].relative_ce["fog"] == pytest.approx(-25.0)
    assert out["robust"].relative_ce["snow"] == pytest.approx(200.0)
    assert out["robust"].mean_corruption_accuracy == pytest.approx(
        1 - np.mean([0.1, 0.2, 0.6, 1.0])
    )


def test_corruption_error_of_a_reference_that_never_errs_is_nan() -> None:
    assert np.isnan(corruption_error({1: 0.2}, {1: 0.0}))


def test_spec_section_is_optional_and_checked() -> None:
    plain = load_spec("benchmarks/digits_fgsm.yaml")
    assert plain.corruptions is None and "corruptions" not in plain.to_dict()
    assert "corruptions" not in plain.identity()
    spec = parse_spec({"corruptions": {"severities": [1, 3], "extras": True}})
    assert spec.corruptions.corruptions[: len(CORRUPTIONS)] == CORRUPTIONS
    assert len(spec.corruptions.corruptions) == 19 and spec.corruptions.severities == (1, 3)
    assert sum(len(v) for v in FAMILIES.values()) == 15
    with pytest.raises(HarnessError, match=r"corruptions.names\[0\]: expected one of .*fog"):
        parse_spec({"corruptions": {"names": ["fogg"]}})
    with pytest.raises(HarnessError, match=r"corruptions.severities\[0\]: expected an integer"):
        parse_spec({"corruptions": {"severities": [6]}})


# ---------------------------------------------------------------- paired changes, named reference


def masked(model: str, corruption: str, severity: int, correct: list[bool]) -> CorruptionAccuracy:
    c = np.array(correct)
    return CorruptionAccuracy(
        model, corruption, "noise", severity, float(c.mean()), c.size, correct=bits.pack(c)
    )


def test_paired_changes_count_fixed_and_broken_images_over_severities() -> None:
    rows = [
        masked("baseline", "fog", 1, [True, False, False, True]),
        masked("baseline", "fog", 2, [False, False, True, True]),
        masked("robust", "fog", 1, [True, True, True, False]),
        masked("robust", "fog", 2, [True, False, True, True]),
        CorruptionAccuracy("robust", "snow", "weather", 1, 0.5, 4),  # no mask kept: skipped
    ]
    (change,) = paired_changes(rows, "baseline", "robust")
    assert (change.corruption, change.n, change.fixed, change.broken) == ("fog", 8, 3, 1)
    assert change.net == pytest.approx(0.25)
    # the net change equals the difference of the mean accuracies over the same images
    acc = {
        m: np.mean([r.accuracy for r in rows[:4] if r.model == m]) for m in ("baseline", "robust")
    }
    assert change.net == pytest.approx(acc["robust"] - acc["baseline"])
    assert change.p_value == pytest.approx(0.625)  # exact binomial: P(X<=1 | n=4) * 2


def test_mcnemar_is_one_without_discordant_pairs_and_small_for_a_lopsided_split() -> None:
    assert mcnemar(0, 0) == 1.0
    assert mcnemar(20, 0) < 1e-5
    assert mcnemar(7, 7) == pytest.approx(1.0)


def test_mask_round_trips_through_the_record(tmp_path) -> None:
    rng = np.random.default_rng(0)
    c = rng.random(37) < 0.5
    assert np.array_equal(masked("m", "fog", 1, list(c)).correct_mask(), c)
    assert CorruptionAccuracy("m", "fog", "weather", 1, 0.5, 4).correct_mask() is None


def write_reference(path, text: str):
    path.write_text("corruption,severity,error\n" + text, encoding="utf-8")
    return path


def test_named_reference_scales_by_its_errors_and_reads_all_as_every_severity(tmp_path) -> None:
    path = write_reference(
        tmp_path / "ref.csv", "fog,all,0.5\nsnow,1,0.4\nsnow,2,0.8\nclean,,0.1\n"
    )
    named = reference.load("AlexNet", path)
    assert named.clean_error == 0.1 and named.severity_errors("fog", [1, 2]) == {1: 0.5, 2: 0.5}
    base = {"fog": [0.2, 0.4], "snow": [0.3, 0.5]}
    (out,) = summarize_named(rows("baseline", base), {"baseline": 0.9}, named)
    assert out.reference == "AlexNet"
    assert out.ce == pytest.approx({"fog": 60.0, "snow": 800 / 12})  # 0.6/1.0, 0.8/1.2
    assert out.mce == pytest.approx((60.0 + 800 / 12) / 2)
    # relative: fog (0.1 + 0.3) / (0.4 + 0.4); snow (0.2 + 0.4) / (0.3 + 0.7)
    assert out.relative_ce == pytest.approx({"fog": 50.0, "snow": 60.0})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fog,all,1.5\n", r"ref.csv line 2: expected an error in \[0, 1\], got '1.5'"),
        ("fogg,1,0.5\n", r"ref.csv line 2: expected a corruption of .* or clean, got 'fogg'"),
        ("fog,6,0.5\n", r"ref.csv line 2: expected a severity 1-5 or all, got '6'"),
        ("fog,1\n", r"ref.csv line 2: expected 3 fields"),
        ("clean,,0.1\n", r"expected at least one corruption's error"),
    ],
)
def test_a_bad_reference_table_is_one_line_naming_file_and_line(tmp_path, text, message) -> None:
    path = write_reference(tmp_path / "ref.csv", text)
    with pytest.raises(HarnessError, match=message):
        reference.load("AlexNet", path)


def test_a_reference_without_its_header_or_file_is_refused(tmp_path) -> None:
    (tmp_path / "ref.csv").write_text("fog,1,0.5\n", encoding="utf-8")
    with pytest.raises(HarnessError, match="line 1: expected the header corruption,severity,error"):
        reference.load("AlexNet", tmp_path / "ref.csv")
    with pytest.raises(
        HarnessError, match=r"corruptions.reference.errors: .*missing.csv does not exist"
    ):
        reference.load("AlexNet", tmp_path / "missing.csv")


def test_picked_images_get_the_corruption_the_whole_set_gave_them() -> None:
    x = images(6, 3, 32)
    picks = [4, 1]
    whole = generate.corrupt(x, "shot_noise", 3, seed=5)
    assert np.array_equal(generate.corrupt(x[picks], "shot_noise", 3, 5, picks), whole[picks])


def test_a_subset_keeps_the_class_balance_and_seeds_images_by_test_index() -> None:
    y = np.repeat([0, 1], 20)  # sorted by class, as stratified test splits are
    x = images(40, 3, 32)
    cs = CorruptionSpec(names=("shot_noise",), severities=(2,), n_images=10)
    ((name, s, parts),) = list(corrupted_sets(cs, x, y, seed=3, size=4))
    xc, yc = (np.concatenate(a) for a in zip(*parts, strict=True))
    assert (name, s, len(yc), int(yc.sum())) == ("shot_noise", 2, 10, 5)  # 5 of each class
    idx = subset_indices(cs, y, seed=3)
    assert np.array_equal(yc, y[idx])
    # each corrupted image is the one the whole set's corruption gives its test index
    assert np.array_equal(xc, generate.corrupt(x, "shot_noise", 2, seed=3)[idx])


def test_the_plan_carries_the_named_reference_read_once(tmp_path, monkeypatch) -> None:
    if importlib.util.find_spec("imagecorruptions") is None:
        pytest.skip("imagecorruptions (the optional extra `corruptions`) is not installed")
    from harness.plan import validate
    from harness.spec import parse_spec

    path = write_reference(tmp_path / "ref.csv", "fog,1,0.5\nclean,,0.4\n")
    named = {"name": "AlexNet", "errors": str(path)}
    spec = parse_spec({"name": "t", "corruptions": {"names": ["fog"], "reference": named}})
    reads, load = [], reference.load
    monkeypatch.setattr(reference, "load", lambda *a: reads.append(a) or load(*a))
    plan = validate(spec)
    assert len(reads) == 1 and plan.corruption_reference is not None
    assert plan.corruption_reference.errors == {"fog": {"1": 0.5}}
    assert plan.corruption_reference.clean_error == 0.4
    assert validate(parse_spec({"name": "t"})).corruption_reference is None
