"""Three tabs of the page: Samples, Upload, Attack (Results: ``harness.app.results``).
Streamlit calls only.

Model computations go through the ``st.cache_data`` wrappers below, keyed by the model's key,
its run's stamp and the image, so moving a widget recomputes only what changed. Models reach the
tabs as {label: model} (``harness.app.models.labels``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from harness.app import inference
from harness.app.inference import Verdict
from harness.app.models import AppModel
from harness.app.runs import AppRun
from harness.app.samples import Samples, sample_images
from harness.app.upload import MAX_MB, UploadError, read_upload, to_input
from harness.errors import HarnessError
from harness.perturbation import magnified

DISPLAY_PX = 160  # images are upscaled (nearest neighbour) to about this width for display
UPLOAD_HINT = (
    "A file over {mb} MB is refused by the upload box itself (a red mark on its name) and never "
    "reaches the app. An image is converted to the model's input: {shape} (channels x height x "
    "width)."
)
# The Attack tab's row of images per model (``attack_images``), in this order.
ATTACK_IMAGES = ("clean image", "Grad-CAM (clean)", "attacked image", "Grad-CAM (attacked)",
                 "perturbation (magnified)")  # fmt: skip
# The same row when a corruption is applied first: its first two images are the corrupted one.
CORRUPTED_IMAGES = ("corrupted image", "Grad-CAM (corrupted)", *ATTACK_IMAGES[2:])
NO_CORRUPTION = "none"
FLIPS = "smallest_flips"
UPLOADED = "uploaded"  # session_state: (run folder, Input) of the last good upload  # session_state: {(model key, attack, image digest): eps or None}


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


@st.cache_data(show_spinner=False, max_entries=1024)
def _predicted(key: str, x: np.ndarray, _m: AppModel) -> int:
    return inference.predicted(_m, x)


@st.cache_data(show_spinner=False, max_entries=1024)
def _attacked(key: str, x: np.ndarray, attack: str, eps: float, _m: AppModel) -> np.ndarray:
    planned = inference.planned_attack(_m.run, attack)
    return inference.attack(_m, planned, x, eps, _predicted(key, x, _m))


@st.cache_data(show_spinner=False, max_entries=256)
def _corrupted(x: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    return inference.corrupted(x, name, severity, seed)


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


def _need_models(models: Mapping[str, AppModel]) -> bool:
    if not models:
        st.info("Select at least one model in the sidebar.")
    return bool(models)


# ---------------------------------------------------------------- Samples


def samples_tab(run: AppRun) -> Samples | None:
    """A grid of test images per class; returns them for the Attack tab (None: data missing)."""
    st.subheader(f"Test images of {run.result.data.name}")
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


def upload_tab(run: AppRun, models: Mapping[str, AppModel]) -> Input | None:
    """Upload an image; every selected model's prediction and Grad-CAM, side by side."""
    st.subheader("Upload an image")
    # No ``type=``: a file the widget refuses gets only a red mark, so every type reaches
    # read_upload, which says what it found. Size is the one refusal left to the widget
    # (``harness app`` sets its cap, server.maxUploadSize, to MAX_MB), so the page says so.
    file = st.file_uploader(f"PNG, JPEG or WebP, at most {MAX_MB} MB", key="upload")
    if file is None:
        st.caption(UPLOAD_HINT.format(mb=MAX_MB, shape="x".join(map(str, run.input_shape))))
        kept = last_upload(run)
        if kept is not None:
            st.caption(f"The Attack tab still works on the last upload ({kept.label}).")
            if st.button("Forget the last upload", key="forget_upload"):
                st.session_state.pop(UPLOADED, None)
                st.rerun()
        return None
    try:
        x = to_input(read_upload(file.getvalue(), file.name), run.input_shape)
    except UploadError as exc:
        st.error(str(exc))
        return None
    st.session_state[UPLOADED] = (str(run.path), Input(f"uploaded: {file.name}", x))
    st.image(
        display(x),
        caption=f"{file.name} as the model sees it ({'x'.join(map(str, run.input_shape))})",
    )
    if _need_models(models):
        names = run.class_names
        for col, (label, m) in zip(st.columns(len(models)), models.items(), strict=True):
            v = _verdict(_key(m), x, m)
            col.markdown(f"**{label}**: predicted **{prediction(names, v)}**")
            col.caption(confidences(names, v))
            _cam_image(col, x, v, "Grad-CAM")
    return Input(f"uploaded: {file.name}", x)


def last_upload(run: AppRun) -> Input | None:
    """The image last uploaded for ``run`` (kept while the Upload tab is closed)."""
    kept = st.session_state.get(UPLOADED)
    return kept[1] if kept and kept[0] == str(run.path) else None


def sample_pool(run: AppRun) -> Samples | None:
    """The Samples tab's images (cached), for the Attack tab; None when the data cannot be read
    (the Samples tab says why)."""
    try:
        return _samples(str(run.path), run.stamp, run)
    except HarnessError:
        return None


# ---------------------------------------------------------------- Attack


def attack_tab(
    run: AppRun, models: Mapping[str, AppModel], uploaded: Input | None, samples: Samples | None
) -> None:
    st.subheader("Attack")
    inputs = ([uploaded] if uploaded else []) + _sample_inputs(run, samples)
    if not inputs:
        st.info("Upload an image (Upload tab) to attack it.")
        return
    labels = [i.label for i in inputs]
    chosen = st.selectbox("Image", range(len(inputs)), format_func=lambda k: labels[k],
                          key=f"attack_input:{labels[0]}")  # fmt: skip
    left, middle, right = st.columns(3)
    attack = left.selectbox("Attack", list(inference.attack_choices()), key="attack")
    corruption = _corruption_picker(middle, right)
    eps = round(float(st.slider("ε (L∞, pixel units in [0, 1])", **_slider(run), key="eps")), 10)
    original = inputs[chosen].x
    x = original if corruption is None else _corrupted(original, *corruption, run.spec.seed)
    if _need_models(models):
        under = (
            ""
            if corruption is None
            else f" on the image under {corruption[0]} at severity {corruption[1]}"
        )
        st.caption(f"{attack} at ε = {eps:.4f} ({eps * 255:.1f}/255){under}, crafted against each "
                   "model (white-box), away from its prediction before the attack.")  # fmt: skip
        for label, m in models.items():
            _attack_row(label, m, x, attack, eps, None if corruption is None else original)


def _corruption_picker(left, right) -> tuple[str, int] | None:
    """A common corruption (and its severity) applied to the image before the attack: how a
    model holds up under blur, noise or weather, and what an attacker still needs on top."""
    choices = inference.corruption_choices()
    if not choices:
        left.caption("Common corruptions need the optional extra: "
                     "pip install 'robustness-harness[corruptions]'")  # fmt: skip
        return None
    name = left.selectbox("Corruption (before the attack)", [NO_CORRUPTION, *choices],
                          key="corruption")  # fmt: skip
    if name == NO_CORRUPTION:
        return None
    return name, int(right.slider("Severity", 1, 5, 3, key="severity"))


def _sample_inputs(run: AppRun, samples: Samples | None) -> list[Input]:
    if samples is None:
        return []
    return [
        Input(f"test #{i} ({run.class_names[y]})", x)
        for x, y, i in zip(samples.x, samples.y, samples.indices, strict=True)
    ]


def _slider(run: AppRun) -> dict[str, float | str]:
    """The slider walks the same ε values as the smallest-flip search, from 0."""
    r = inference.eps_range(run.spec)
    return {"min_value": 0.0, "max_value": r.top, "value": r.default, "step": r.step,
            "format": "%.4f"}  # fmt: skip


def _attack_row(
    label: str, m: AppModel, x: np.ndarray, attack: str, eps: float, original: np.ndarray | None
) -> None:
    """One model: its verdicts, the smallest flip, and the clean (or corrupted: ``original`` is
    then the image before the corruption) and attacked images with their Grad-CAMs in one row
    of equal columns (the images share one size)."""
    names, key = m.run.class_names, _key(m)
    if original is not None:
        st.caption(
            f"{label} before the corruption: {prediction(names, _verdict(key, original, m))}"
        )
    clean = _verdict(key, x, m)
    with st.spinner(f"{attack} against {label} at ε = {eps:.4f} ..."):
        x_adv = _attacked(key, x, attack, eps, m)
    adv = _verdict(key, x_adv, m)
    change = "**flipped**" if adv.pred != clean.pred else "unchanged"
    before = "clean" if original is None else "corrupted"
    st.markdown(f"**{label}**: {before} {prediction(names, clean)} → attacked "
                f"**{prediction(names, adv)}**, {change}")  # fmt: skip
    confidence_chart(names, clean, adv, before)
    st.markdown(_flip_line(attack, _flip(label, m, x, attack), inference.eps_range(m.run.spec).top))
    shown = attack_images(x, clean, x_adv, adv)
    captions = ATTACK_IMAGES if original is None else CORRUPTED_IMAGES
    for col, image, caption in zip(st.columns(len(shown)), shown, captions, strict=True):
        col.image(image, caption=caption)
    st.caption(perturbation_scale(x_adv, x))


def attack_images(
    x: np.ndarray, clean: Verdict, x_adv: np.ndarray, adv: Verdict
) -> list[np.ndarray]:
    """The ATTACK_IMAGES of one model, ready to show: each (S, S', 3) uint8, all one size.
    Without a conv layer the Grad-CAM places show the images themselves."""
    cams = [inference.cam_overlay(img, v) for img, v in ((x, clean), (x_adv, adv))]
    return [
        display(img)
        for img in (
            x,
            x if cams[0] is None else cams[0],
            x_adv,
            x_adv if cams[1] is None else cams[1],
            magnified(x_adv - x)[0].astype(np.float32),
        )
    ]


def confidence_chart(names: Sequence[str], clean: Verdict, adv: Verdict, before: str) -> None:
    """The model's class probabilities before and after the attack, side by side per class."""
    frame = pd.DataFrame({before: clean.probs, "attacked": adv.probs}, index=list(names))
    frame.index.name = "class"
    st.bar_chart(frame, horizontal=True, stack=False, x_label="probability", y_label="class",
                 height=max(120, 28 * len(names) + 60))  # fmt: skip


def perturbation_scale(x_adv: np.ndarray, x: np.ndarray) -> str:
    """What the magnified tile shows: its factor and what grey, white and black mean."""
    peak = float(np.abs(x_adv - x).max())
    if peak == 0:
        return "perturbation: none (the attacked image equals the input; the tile is flat grey)"
    return (
        f"perturbation magnified ×{0.5 / peak:.1f}: grey = unchanged, white = +{peak:.4f}, "
        f"black = −{peak:.4f} (the largest change, L∞ = {peak:.4f} = {255 * peak:.1f}/255)"
    )


def _flip_line(attack: str, flip: float | None, top: float) -> str:
    if flip is None:
        return f"smallest flipping ε ({attack}): not flipped up to ε = {top:.4f}"
    return f"smallest flipping ε ({attack}): **{flip:.4f}**"


def _flip(label: str, m: AppModel, x: np.ndarray, attack: str) -> float | None:
    """The first ε of the slider's grid at which ``attack`` changes m's prediction on x (None:
    none does); searched once per session, model, attack and image, with a progress bar."""
    memo = st.session_state.setdefault(FLIPS, {})
    k = (_key(m), attack, hashlib.sha256(x.tobytes()).hexdigest())
    if k not in memo:
        memo[k] = _search_flip(label, m, x, attack)
    return memo[k]


def _search_flip(label: str, m: AppModel, x: np.ndarray, attack: str) -> float | None:
    """Each ε of the grid in turn (each attack cached, so the slider reuses it); a rerun that
    interrupts the search starts it again from the cached attacks."""
    key, grid = _key(m), inference.eps_range(m.run.spec).grid()
    clean = _predicted(key, x, m)
    bar, found = st.progress(0.0), None
    for i, eps in enumerate(grid):
        bar.progress(i / len(grid), text=f"{label}: smallest flipping ε ({attack}): "
                     f"trying ε = {eps:.4f} ({i + 1}/{len(grid)})")  # fmt: skip
        if _predicted(key, _attacked(key, x, attack, float(eps), m), m) != clean:
            found = float(eps)
            break
    bar.empty()
    return found
