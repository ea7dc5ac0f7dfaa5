"""The four tabs of the page: Samples, Upload, Attack, Metrics. Streamlit calls only.

Model computations go through the ``st.cache_data`` wrappers below, keyed by the model's key,
its run's stamp and the image, so moving a widget recomputes only what changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image

from harness.app import inference
from harness.app.inference import Verdict
from harness.app.models import AppModel
from harness.app.runs import REPORT_MD, RESULTS_CSV, AppRun
from harness.app.samples import Samples, sample_images
from harness.app.upload import EXTENSIONS, MAX_BYTES, UploadError, read_upload, to_input
from harness.errors import HarnessError

DISPLAY_PX = 160  # images are upscaled (nearest neighbour) to about this width for display
IMAGE_LINK = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")  # ![alt](file.png) in report.md


@dataclass(frozen=True)
class Input:
    """The image the Attack tab works on."""

    label: str
    x: np.ndarray  # (C, H, W) float32 in [0, 1]


# ---------------------------------------------------------------- cached computations


def _key(m: AppModel) -> str:
    return f"{m.key}@{m.run.stamp}"


@st.cache_data(show_spinner=False, max_entries=1024)
def _verdict(key: str, x: np.ndarray, _m: AppModel) -> Verdict:
    return inference.verdict(_m, x)


@st.cache_data(show_spinner="Attacking ...", max_entries=1024)
def _attacked(key: str, x: np.ndarray, attack: str, eps: float, _m: AppModel) -> np.ndarray:
    planned = inference.planned_attack(_m.run, attack)
    return inference.attack(_m, planned, x, eps, _verdict(key, x, _m).pred)


@st.cache_data(show_spinner="Searching the smallest flipping ε ...", max_entries=1024)
def _flip(key: str, x: np.ndarray, attack: str, _m: AppModel) -> float | None:
    return inference.smallest_flip(_m, inference.planned_attack(_m.run, attack), x)


@st.cache_resource(show_spinner="Loading test images ...", max_entries=8)
def _samples(path: str, mtime: float, _run: AppRun) -> Samples:
    return sample_images(_run)


# ---------------------------------------------------------------- helpers


def display(img: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W, 3) in [0, 1] -> (S, S', 3) uint8, upscaled by an integer factor."""
    arr = np.moveaxis(img, 0, -1) if img.ndim == 3 and img.shape[0] in (1, 3) else img
    arr = np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr
    factor = max(1, DISPLAY_PX // arr.shape[1])
    arr = np.repeat(np.repeat(arr, factor, axis=0), factor, axis=1)
    return (np.clip(arr, 0.0, 1.0) * 255).round().astype(np.uint8)


def prediction(names: Sequence[str], v: Verdict) -> str:
    return f"{names[v.pred]} ({v.probs[v.pred]:.1%})"


def confidences(names: Sequence[str], v: Verdict) -> str:
    return " · ".join(f"{n} {p:.1%}" for n, p in zip(names, v.probs, strict=True))


def _cam_image(col, x: np.ndarray, v: Verdict, caption: str) -> None:
    shown = inference.cam_overlay(x, v)
    if shown is None:
        col.image(display(x), caption=f"{caption} (no conv layer: no Grad-CAM)")
    else:
        col.image(display(shown), caption=caption)


def _need_models(models: Sequence[AppModel]) -> bool:
    if not models:
        st.info("Select at least one model in the sidebar.")
    return bool(models)


# ---------------------------------------------------------------- Samples


def samples_tab(run: AppRun) -> Samples | None:
    """A grid of test images per class; returns them for the Attack tab (None: data missing)."""
    st.subheader(f"Test images of {run.result.data.get('name')}")
    try:
        samples = _samples(str(run.path), run.stamp, run)
    except HarnessError as exc:
        st.error(f"Cannot load the run's dataset: {exc}")
        return None
    for c, name in enumerate(run.class_names):
        picks = [k for k in range(len(samples.y)) if samples.y[k] == c]
        st.markdown(f"**{name}** ({len(picks)} shown)")
        cols = st.columns(max(len(picks), 1))
        for col, k in zip(cols, picks, strict=False):
            col.image(display(samples.x[k]), caption=f"test #{samples.indices[k]}")
    return samples


# ---------------------------------------------------------------- Upload


def upload_tab(run: AppRun, models: Sequence[AppModel]) -> Input | None:
    """Upload an image; every selected model's prediction and Grad-CAM, side by side."""
    st.subheader("Upload an image")
    file = st.file_uploader(
        f"PNG, JPEG or WebP, at most {MAX_BYTES // 2**20} MB", type=list(EXTENSIONS), key="upload"
    )
    if file is None:
        st.caption("The image is converted to the model's input: "
                   f"{'x'.join(map(str, run.input_shape))} (channels x height x width).")  # fmt: skip
        return None
    try:
        x = to_input(read_upload(file.getvalue(), file.name), run.input_shape)
    except UploadError as exc:
        st.error(str(exc))
        return None
    st.image(
        display(x),
        caption=f"{file.name} as the model sees it ({'x'.join(map(str, run.input_shape))})",
    )
    if _need_models(models):
        names = run.class_names
        for col, m in zip(st.columns(len(models)), models, strict=True):
            v = _verdict(_key(m), x, m)
            col.markdown(f"**{m.key}**: predicted **{prediction(names, v)}**")
            col.caption(confidences(names, v))
            _cam_image(col, x, v, "Grad-CAM")
    return Input(f"uploaded: {file.name}", x)


# ---------------------------------------------------------------- Attack


def attack_tab(
    run: AppRun, models: Sequence[AppModel], uploaded: Input | None, samples: Samples | None
) -> None:
    st.subheader("Attack")
    inputs = ([uploaded] if uploaded else []) + _sample_inputs(run, samples)
    if not inputs:
        st.info("Upload an image (Upload tab) to attack it.")
        return
    labels = [i.label for i in inputs]
    chosen = st.selectbox("Image", range(len(inputs)), format_func=lambda k: labels[k],
                          key=f"attack_input:{labels[0]}")  # fmt: skip
    attack = st.selectbox("Attack", list(inference.ATTACK_CHOICES), key="attack")
    eps = st.slider("ε (L∞, pixel units in [0, 1])", **_eps_range(run), key="eps")
    if _need_models(models):
        x = inputs[chosen].x
        st.caption(f"{attack} at ε = {eps:.4f} ({eps * 255:.1f}/255), crafted against each model "
                   "(white-box), away from its clean prediction.")  # fmt: skip
        for col, m in zip(st.columns(len(models)), models, strict=True):
            _attack_column(col, m, x, attack, float(eps))


def _sample_inputs(run: AppRun, samples: Samples | None) -> list[Input]:
    if samples is None:
        return []
    return [
        Input(f"test #{i} ({run.class_names[y]})", x)
        for x, y, i in zip(samples.x, samples.y, samples.indices, strict=True)
    ]


def _eps_range(run: AppRun) -> dict[str, float]:
    """Slider bounds: up to twice the run's largest eps; the default is its Grad-CAM eps."""
    spec = run.spec
    step = float(spec.evasion.eps_step)
    top = 2 * max(max(spec.eps), spec.evasion.eps_max)
    default = spec.gradcam.eps if spec.gradcam.eps is not None else spec.eps[len(spec.eps) // 2]
    top = min(1.0, round(np.ceil(top / step) * step, 6))
    value = min(top, round(round(default / step) * step, 6))
    return {"min_value": 0.0, "max_value": top, "value": value, "step": step, "format": "%.4f"}


def _attack_column(col, m: AppModel, x: np.ndarray, attack: str, eps: float) -> None:
    names, key = m.run.class_names, _key(m)
    clean = _verdict(key, x, m)
    x_adv = _attacked(key, x, attack, eps, m)
    adv = _verdict(key, x_adv, m)
    change = "**flipped**" if adv.pred != clean.pred else "unchanged"
    col.markdown(f"**{m.key}**: clean {prediction(names, clean)} → attacked "
                 f"**{prediction(names, adv)}**, {change}")  # fmt: skip
    col.caption(f"attacked: {confidences(names, adv)}")
    flip = _flip(key, x, attack, m)
    grid_max = m.run.spec.evasion.eps_max
    col.markdown(f"smallest flipping ε ({attack}): **{flip:.4f}**" if flip is not None
                 else f"smallest flipping ε ({attack}): not flipped up to ε = {grid_max:.4f}")  # fmt: skip
    col.image(display(x_adv), caption="attacked image")
    col.image(display(inference.magnified(x_adv, x)), caption="perturbation (magnified)")
    _cam_image(col, x_adv, adv, "Grad-CAM on the attacked image")


# ---------------------------------------------------------------- Metrics


def metrics_tab(runs: Sequence[AppRun]) -> None:
    """Each run's own report, as written to its folder (nothing is recomputed)."""
    for run in runs:
        st.subheader(f"Run {run.label}")
        cols = st.columns(max(len(run.result.models), 1))
        for col, m in zip(cols, run.result.models, strict=False):
            col.metric(f"{m.role}: clean accuracy", f"{m.clean_accuracy:.2%}")
        _report(run)
        with st.expander(f"{RESULTS_CSV} (every measurement)"):
            st.dataframe(_rows(run), hide_index=True)


def _rows(run: AppRun) -> list[dict]:
    return [
        {"model": r.model, "attack": r.attack, "eps": r.eps, "metric": r.metric, "value": r.value}
        for r in run.result.measurements
    ]


def _report(run: AppRun) -> None:
    """report.md with its figures shown from the run folder."""
    path = run.path / REPORT_MD
    if not path.is_file():
        st.warning(f"{path}: no {REPORT_MD} in this run folder")
        return
    parts = IMAGE_LINK.split(path.read_text(encoding="utf-8"))
    # re.split with two groups: text, alt, file, text, alt, file, ..., text
    st.markdown(parts[0])
    for i in range(1, len(parts), 3):
        _figure(run, parts[i], parts[i + 1])
        if parts[i + 2].strip():
            st.markdown(parts[i + 2])


def _figure(run: AppRun, alt: str, name: str) -> None:
    file = (run.path / name).resolve()
    if not file.is_relative_to(run.path.resolve()) or not file.is_file():
        st.caption(f"({alt}: {name} is not in the run folder)")
        return
    with Image.open(file) as im:
        st.image(im.copy(), caption=alt)
