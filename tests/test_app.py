"""The Streamlit demo (``harness app``): upload checks, run folders, and every section through
Streamlit's own testing API (``AppTest``) on a tiny real CIFAKE run."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from app_support import cifake_image, cifake_run
from PIL import Image
from streamlit.testing.v1 import AppTest

from harness import metrics
from harness.app import inference
from harness.app.inference import Verdict, eps_range
from harness.app.launch import PAGE, streamlit_command
from harness.app.markdown import Figure, Table, blocks
from harness.app.models import AppModel, labels, load_models
from harness.app.page import VIEW
from harness.app.runs import load_app_run, newest_runs
from harness.app.upload import MAX_BYTES, MAX_MB, UploadError, read_upload, to_input
from harness.app.views import ATTACK_IMAGES, CORRUPTED_IMAGES, DISPLAY_PX, attack_images
from harness.cli import main
from harness.errors import HarnessError
from harness.estimator import predict_logits
from harness.spec import parse_spec

BASELINE = "baseline · app_cifake"  # the sidebar's label of the run's baseline

# ---------------------------------------------------------------- image files for the checks


def png_bytes(img: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **save)
    return buf.getvalue()


def raw_png(width: int, height: int, depth: int, colour: int, pixels: bytes = b"") -> bytes:
    """A PNG written by hand: PIL cannot write 16-bit RGB, nor a header for a huge image cheaply."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(pixels)) if pixels else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def rgb48_png() -> bytes:
    rows = b"".join(b"\x00" + os.urandom(4 * 6) for _ in range(4))  # filter byte + 4 px x 6 bytes
    return raw_png(4, 4, 16, 2, rows)


def apng() -> bytes:
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    return png_bytes(frames[0], save_all=True, append_images=frames[1:])


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        buf, "JPEG"
    )
    return buf.getvalue()


def gif_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (8, 8)).save(buf, "GIF")
    return buf.getvalue()


BAD_UPLOADS = {
    "text": (b"hello, not an image\n" * 10, "not an image"),
    "empty": (b"", "the file is empty"),
    "truncated_jpeg": (jpeg_bytes()[:400], "truncated or corrupt"),
    "truncated_png": (png_bytes(Image.new("RGB", (64, 64), "red"))[:-30], "truncated or corrupt"),
    "bomb_over_cap": (raw_png(6000, 6000, 8, 0), "decompression bomb"),
    "bomb_pil": (raw_png(20000, 20000, 8, 0), "decompression bomb"),
    "animated_png": (apng(), "animated images are not supported"),
    "gray16": (png_bytes(Image.fromarray(np.full((8, 8), 40000, np.uint16))), "16-bit"),
    "rgb48": (rgb48_png(), "16-bit"),
    "gif": (gif_bytes(), "GIF images are not supported"),
    "too_big": (b"\x89PNG" + bytes(MAX_BYTES), "the limit is 10 MB"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_uploads_are_refused_with_one_line(case: str) -> None:
    data, expected = BAD_UPLOADS[case]
    with pytest.raises(UploadError) as err:
        read_upload(data, f"{case}.png")
    message = str(err.value)
    assert expected in message and message.startswith(f"{case}.png: ")
    assert "\n" not in message


def test_good_uploads_convert_to_the_model_input() -> None:
    rgba = Image.new("RGBA", (100, 50), (255, 0, 0, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 50, 50))  # left half fully transparent: composited on white
    img = read_upload(png_bytes(rgba), "a.png")
    x = to_input(img, (3, 32, 32))
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert np.allclose(x[:, :, :10], 1.0)  # white where transparent
    assert np.allclose(x[:, :, -10:], np.array([1.0, 0.0, 0.0])[:, None, None])  # red
    gray = to_input(read_upload(jpeg_bytes(), "b.jpg"), (1, 8, 8))
    assert gray.shape == (1, 8, 8) and gray.dtype == np.float32
    webp = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 255, 0)).save(webp, "WEBP", lossless=True)
    x = to_input(read_upload(webp.getvalue(), "c.webp"), (3, 32, 32))
    assert np.allclose(x[1], 1.0) and np.allclose(x[0], 0.0)


def test_a_32x32_image_is_not_resampled() -> None:
    pixels = np.random.default_rng(1).integers(0, 255, (32, 32, 3), np.uint8)
    x = to_input(read_upload(png_bytes(Image.fromarray(pixels)), "d.png"), (3, 32, 32))
    assert np.array_equal(np.round(x * 255).astype(np.uint8), pixels.transpose(2, 0, 1))


# ---------------------------------------------------------------- ε range, labels, images


@pytest.mark.parametrize(
    ("eps", "evasion", "top", "default", "n"),
    [
        ([0, 0.01, 0.03, 0.1], {"eps_max": 0.1, "eps_step": 0.01}, 0.1, 0.03, 10),
        ([0, 0.3], {"eps_max": 0.1, "eps_step": 0.01}, 0.3, 0.3, 30),  # the sweep reaches further
        ([0, 8 / 255], {"eps_max": 0.05, "eps_step": 0.0025}, 0.05, 0.0325, 20),
        ([0, 1.0], {"eps_max": 0.5, "eps_step": 0.3}, 0.9, 0.9, 3),  # capped at 1, on the grid
    ],
)
def test_the_slider_and_the_smallest_flip_search_share_one_range(
    eps: list[float], evasion: dict, top: float, default: float, n: int
) -> None:
    spec = parse_spec({"name": "x", "version": 1, "dataset": {"name": "digits"},
                       "model": {"arch": "small_cnn"}, "eps": eps, "evasion": evasion})  # fmt: skip
    r = eps_range(spec)
    grid = r.grid()
    assert (r.top, r.default, len(grid)) == (pytest.approx(top), pytest.approx(default), n)
    assert grid[-1] == pytest.approx(r.top) and grid[0] == pytest.approx(r.step)
    assert r.top <= 1.0 and 0 <= r.default <= r.top


def fake_model(role: str, name: str, path: str) -> AppModel:
    run = SimpleNamespace(result=SimpleNamespace(name=name), path=Path(path))
    return AppModel(run, role)  # type: ignore[arg-type]  # labels reads only these fields


def test_model_labels_are_short_and_only_as_long_as_needed() -> None:
    models = [
        fake_model("baseline", "digits", "reports/digits/20261130-095800-seed0"),
        fake_model("robust", "digits", "reports/digits/20261130-095800-seed0"),
        fake_model("baseline", "cifar", "reports/cifar/20261130-100000-seed0"),
        fake_model("baseline", "cifar", "reports/cifar/20261130-110000-seed0"),
        fake_model("baseline", "mnist", "a/run"),
        fake_model("baseline", "mnist", "b/run"),
    ]
    assert list(labels(models)) == [
        "baseline · digits",
        "robust · digits",
        "baseline · cifar (20261130-100000-seed0)",
        "baseline · cifar (20261130-110000-seed0)",
        "baseline · mnist (a/run)",
        "baseline · mnist (b/run)",
    ]


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32), (1, 28, 28)])
def test_the_attack_images_share_one_size(shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(0)
    x = rng.random(shape, dtype=np.float32)
    x_adv = np.clip(x + 0.1, 0, 1)
    cam = rng.random(shape[1:], dtype=np.float32)
    clean, adv = Verdict(np.array([0.9, 0.1]), cam), Verdict(np.array([0.2, 0.8]), None)
    shown = attack_images(x, clean, x_adv, adv)
    assert len(shown) == len(ATTACK_IMAGES)
    assert {a.shape for a in shown} == {shown[0].shape} and shown[0].shape[-1] == 3
    assert shown[0].shape[1] >= DISPLAY_PX // 2  # upscaled for display


REPORT = r"""# Run

| role | weights | defence |
| --- | :---: | --- |
| baseline | `/very/long/path/baseline.pt` | — |
| **robust** | `robust.pt` | a=1, b=x\|y |
| short |

![Robust accuracy](curve.png)
Text after | a pipe.

| x | x |
|---|---|
| 1 | 2 |
"""


def test_report_tables_become_rows_and_figures_stay_in_place() -> None:
    got = blocks(REPORT)
    kinds = [type(b).__name__ for b in got]
    assert kinds == ["Prose", "Table", "Figure", "Prose", "Table"]
    table = got[1]
    assert table.columns == ["role", "weights", "defence"]
    assert table.rows == [
        ["baseline", "/very/long/path/baseline.pt", "—"],
        ["robust", "robust.pt", "a=1, b=x|y"],  # marks dropped, the escaped pipe kept
        ["short", "", ""],
    ]
    assert got[2] == Figure("Robust accuracy", "curve.png")
    assert got[3].text.strip() == "Text after | a pipe."
    assert got[4].columns == ["x", "x (2)"]  # a data frame needs unique names


# ---------------------------------------------------------------- run folders


def fake_run(folder: Path, raw: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(raw), encoding="utf-8")
    (folder / "results.csv").write_text("model,attack,eps,metric,value\n", encoding="utf-8")
    return folder


def test_missing_incomplete_and_old_run_folders_give_one_line(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="no such folder"):
        load_app_run(tmp_path / "nope")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "results.csv").write_text("", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"incomplete run folder \(no run.json\)"):
        load_app_run(tmp_path / "half")
    old = fake_run(
        tmp_path / "old",
        {"spec": {}, "data": {"class_names": ["a"]}, "models": [{"role": "baseline"}]},
    )
    with pytest.raises(HarnessError, match=r"older format \(no data.input_shape, models\[0\].arch"):
        load_app_run(old)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.json").write_text("{", encoding="utf-8")
    (tmp_path / "bad" / "results.csv").write_text("", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"run\.json is unreadable"):
        load_app_run(tmp_path / "bad")


def test_newest_runs_takes_the_newest_folder_of_each_benchmark(tmp_path: Path) -> None:
    for i, (bench, run) in enumerate([("a", "r1"), ("a", "r2"), ("b", "r1"), ("c", "x")]):
        folder = fake_run(tmp_path / bench / run, {})
        os.utime(folder / "run.json", (1000 + i, 1000 + i))
    (tmp_path / "compare" / "stamp").mkdir(parents=True)  # no run.json: not a run
    assert newest_runs(tmp_path) == [
        tmp_path / "c" / "x",
        tmp_path / "b" / "r1",
        tmp_path / "a" / "r2",
    ]
    assert newest_runs(tmp_path / "absent") == []


def test_cli_app_launches_streamlit_on_the_newest_runs(tmp_path: Path, monkeypatch) -> None:
    fake_run(tmp_path / "reports" / "bench" / "r1", {})
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr("os.execv", lambda path, cmd: calls.append(cmd))
    assert main(["app", "--port", "8765"]) == 0
    cmd = calls[0]
    assert cmd[1:5] == ["-m", "streamlit", "run", str(PAGE)]
    assert cmd[cmd.index("--server.port") + 1] == "8765"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[cmd.index("--") + 1 :] == [str(Path("reports/bench/r1"))]
    assert streamlit_command(["x", "y"])[-3:] == ["--", "x", "y"]
    assert cmd[cmd.index("--server.maxUploadSize") + 1] == str(MAX_MB)  # the app's cap, in MB
    assert MAX_BYTES == MAX_MB * 2**20  # Streamlit's megabyte


# ---------------------------------------------------------------- the page, through AppTest


def script(runs: list[str]) -> None:
    from harness.app.page import main

    main(runs)


def app(*runs: str | Path, view: str | None = None) -> AppTest:
    """The page on ``runs`` with the tab ``view`` open (default: the first, Results). Only the
    open tab's content runs, so a test opens the tab it reads (``show``)."""
    at = AppTest.from_function(script, kwargs={"runs": [str(r) for r in runs]}, default_timeout=120)
    if view is not None:
        at.session_state[VIEW] = view
    return at.run()


def show(at: AppTest, view: str) -> AppTest:
    """Open the tab ``view`` (as a click on it would) and rerun."""
    at.session_state[VIEW] = view
    return at.run()


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown] + [c.value for c in at.caption]


def captions(block) -> list[str]:
    """Captions of the images shown in ``block`` (a tab), in order."""
    return [c for image in block.get("image") for c in image.captions]


def lines(at: AppTest, start: str) -> list[str]:
    return [t for t in texts(at) if t.startswith(start)]


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    return cifake_run(tmp_path_factory)


@pytest.fixture(scope="module")
def real_image() -> bytes:
    return cifake_image().read_bytes()


def test_no_usable_run_is_a_message_not_a_crash(tmp_path: Path) -> None:
    at = app(tmp_path / "nope")
    assert not at.exception
    assert "no such folder" in at.error[0].value
    assert "No run to show" in at.info[0].value


@pytest.mark.realdata
def test_samples_and_metrics_sections(run_dir: Path) -> None:
    at = app(run_dir, run_dir.parent / "missing")
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Results", "Samples", "Upload", "Attack"]
    assert "missing: cannot open this run: no such folder" in at.error[0].value
    assert not at.tabs[1].markdown  # only the open tab runs
    # Results, the first tab: read from the run folder, not recomputed; every figure with its
    # interval, the verdict first, then the whole report
    record = json.loads((run_dir / "run.json").read_text())
    shown = {m.label: m.value for m in at.metric}
    for m in record["models"]:
        clean = shown[f"{m['role']}: clean accuracy"]
        assert clean.startswith(f"{100 * m['clean_accuracy']:.1f}% [") and clean.endswith("]")
        robust = [v for k, v in shown.items() if k.startswith(f"{m['role']}: robust accuracy at ε")]
        assert len(robust) == 1 and "% [" in robust[0]
    report = [m.value for m in at.tabs[0].markdown]
    assert report[0].startswith("## Verdict")
    for section in ("## Clean accuracy", "## Robustness sweep", "## Evaluation sanity checks"):
        assert any(section in t for t in report)
    assert len(captions(at.tabs[0])) == (run_dir / "report.md").read_text().count("![")
    tables = [b for b in blocks((run_dir / "report.md").read_text()) if isinstance(b, Table)]
    assert len(at.dataframe) == len(tables) + 1  # wide tables scroll: data frames, not Markdown
    assert not any(line.startswith("|") for t in texts(at) for line in t.splitlines())
    assert (
        len(at.dataframe[-1].value) == len((run_dir / "results.csv").read_text().splitlines()) - 1
    )
    show(at, "Samples")
    samples = at.tabs[1]
    assert not at.tabs[0].markdown and not at.metric
    assert "**FAKE** (6 shown)" in [m.value for m in samples.markdown]
    assert "**REAL** (6 shown)" in [m.value for m in samples.markdown]
    assert captions(samples)[:6] == [f"test #{i}" for i in range(6)]  # FAKE: the first 40
    assert len(captions(samples)) == 12


@pytest.mark.realdata
def test_upload_shows_each_models_prediction_and_gradcam(run_dir: Path, real_image: bytes) -> None:
    at = app(run_dir, view="Upload")
    at.file_uploader(key="upload").upload("real.jpg", real_image, "image/jpeg")
    at.run()
    assert not at.exception and not at.error
    run = load_app_run(run_dir)
    x = to_input(read_upload(real_image), run.input_shape)
    for label, m in labels(load_models(run)).items():  # the model's own numbers on the image
        probs = metrics.softmax(predict_logits(m.model, x[None]))[0]
        c = int(probs.argmax())
        expected = f"**{label}**: predicted **{run.class_names[c]} ({probs[c]:.1%})**"
        assert expected in lines(at, f"**{label}**: predicted")
        assert f"FAKE {probs[0]:.1%} · REAL {probs[1]:.1%}" in texts(at)
    assert captions(at.tabs[2]).count("Grad-CAM") == 2


@pytest.mark.realdata
def test_attack_slider_flips_the_baseline_and_reports_the_smallest_eps(
    run_dir: Path, real_image: bytes
) -> None:
    at = app(run_dir, view="Upload")
    at.file_uploader(key="upload").upload("real.jpg", real_image, "image/jpeg")
    at.run()
    show(at, "Attack")  # the Attack tab works on the last upload
    assert at.selectbox(key="attack_input:uploaded: real.jpg").value == 0
    assert at.selectbox(key="attack").options == ["fgsm", "pgd"]
    slider = at.slider(key="eps")
    assert slider.value == pytest.approx(0.03)  # the run's Grad-CAM eps
    assert (slider.min, slider.max, slider.step) == (0.0, 0.1, 0.01)  # the run's evasion grid
    slider.set_value(0.0).run()
    zero = lines(at, "**")
    attack_lines = [t for t in zero if "→ attacked" in t]
    assert len(attack_lines) == 2 and all(t.endswith("unchanged") for t in attack_lines)
    for t in attack_lines:  # eps = 0: the attacked image is the clean one
        clean, attacked = t.split(" → attacked ")
        assert clean.split(": clean ")[1] == attacked.split(",")[0].strip("*")
    at.selectbox(key="attack").set_value("pgd").run()
    at.slider(key="eps").set_value(at.slider(key="eps").max).run()
    assert not at.exception
    baseline = next(t for t in lines(at, f"**{BASELINE}**") if "→ attacked" in t)
    assert baseline.endswith("**flipped**")
    flips = lines(at, "smallest flipping ε (pgd): ")
    assert len(flips) == 2
    eps = float(flips[0].split("**")[1])  # the baseline's: within the slider's range
    assert 0 < eps <= 0.1
    assert all("**" in t or t.endswith("not flipped up to ε = 0.1000") for t in flips)
    images = captions(at.tabs[3])  # per model: clean, its Grad-CAM, attacked, its Grad-CAM, delta
    assert images == 2 * list(ATTACK_IMAGES)
    scales = [t for t in texts(at) if t.startswith("perturbation magnified ×")]
    assert len(scales) == 2 and all("grey = unchanged" in t for t in scales)
    assert len(at.get("vega_lite_chart")) >= 2  # class probabilities, clean vs attacked


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("case", "name", "mime"),
    [  # every case is checked without the page above; the widget takes any type to say why
        ("text", "notes.txt", "text/plain"),
        ("bomb_over_cap", "bomb_over_cap.png", "image/png"),
        ("gif", "gif.gif", "image/gif"),
    ],
)
def test_bad_upload_shows_an_error_and_the_app_keeps_working(
    run_dir: Path, real_image: bytes, case: str, name: str, mime: str
) -> None:
    at = app(run_dir, view="Upload")
    hint = f"A file over {MAX_MB} MB is refused by the upload box itself"
    assert any(c.value.startswith(hint) for c in at.tabs[2].caption)  # what the widget refuses
    data, expected = BAD_UPLOADS[case]
    at.file_uploader(key="upload").upload(name, data, mime)
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and expected in at.error[0].value
    show(at, "Attack")  # the other tabs still work, on the samples (nothing was kept)
    assert not at.exception and at.slider(key="eps")
    assert not [s for s in at.selectbox if s.key and s.key.startswith("attack_input:uploaded")]
    show(at, "Upload")
    at.file_uploader(key="upload").set_value(("real.jpg", real_image, "image/jpeg")).run()
    assert not at.error and lines(at, f"**{BASELINE}**: predicted")


@pytest.mark.realdata
def test_a_model_that_cannot_be_rebuilt_is_listed_as_unavailable(
    run_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    record = json.loads((copy / "run.json").read_text())
    record["models"][1]["weights"] = ""
    record["models"][1]["training"] = "assembled in front of the baseline"
    (copy / "run.json").write_text(json.dumps(record))
    at = app(copy, view="Attack")
    assert not at.exception
    assert at.warning[0].value == (
        "robust · app_cifake: unavailable: robust: no weights file recorded "
        "(assembled in front of the baseline)"
    )
    assert at.multiselect[0].value == [BASELINE]
    assert len(lines(at, f"**{BASELINE}**")) >= 1


@pytest.mark.realdata
def test_a_corruption_is_applied_before_the_attack(run_dir: Path, real_image: bytes) -> None:
    # find_spec, not importorskip: imagecorruptions' own import needs pkg_resources, which
    # harness.corruptions.backend stands in for; importing it bare would always skip here
    if importlib.util.find_spec("imagecorruptions") is None:
        pytest.skip("the optional extra 'corruptions' is not installed")
    at = app(run_dir, view="Upload")
    at.file_uploader(key="upload").upload("real.jpg", real_image, "image/jpeg")
    at.run()
    show(at, "Attack")
    assert at.selectbox(key="corruption").value == "none"
    at.selectbox(key="corruption").set_value("gaussian_noise").run()
    at.slider(key="severity").set_value(5).run()
    at.slider(key="eps").set_value(0.0).run()
    assert not at.exception and not at.error
    run = load_app_run(run_dir)
    x = to_input(read_upload(real_image), run.input_shape)
    noisy = inference.corrupted(x, "gaussian_noise", 5, run.spec.seed)
    assert np.abs(noisy - x).max() > 0.1  # severity 5 noise is visible
    for label, m in labels(load_models(run)).items():  # each verdict: the model's own numbers
        before, after = (int(predict_logits(m.model, v[None])[0].argmax()) for v in (x, noisy))
        names = run.class_names
        assert any(
            t.startswith(f"{label} before the corruption: {names[before]} (") for t in texts(at)
        )
        assert any(t.startswith(f"**{label}**: corrupted {names[after]} (") for t in texts(at))
    assert any("on the image under gaussian_noise at severity 5" in t for t in texts(at))
    assert captions(at.tabs[3]) == 2 * list(CORRUPTED_IMAGES)
