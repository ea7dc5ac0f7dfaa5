"""The Streamlit page of ``harness app``: ``streamlit run page.py -- RUN_DIR [RUN_DIR ...]``.

Runs and models are read once per run folder (``st.cache_resource``, keyed by run.json's
modification time); predictions, attacks and smallest flips are cached per image and setting.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import streamlit as st

from harness.app import results as results_view
from harness.app import views
from harness.app.models import AppModel, labels, load_models
from harness.app.runs import AppRun, load_app_run, stamp
from harness.errors import HarnessError

TABS = ("Results", "Samples", "Upload", "Attack")  # the answer first
VIEW = "view"  # session_state: the open tab's label


@st.cache_resource(show_spinner="Reading the run folder ...", max_entries=32)
def cached_run(path: str, mtime: float) -> AppRun:
    return load_app_run(path)


@st.cache_resource(show_spinner="Loading the models ...", max_entries=32)
def cached_models(path: str, mtime: float) -> list[AppModel]:
    return load_models(cached_run(path, mtime))


def main(run_dirs: Sequence[str]) -> None:
    st.set_page_config(page_title="robustness-harness demo", layout="wide")
    st.title("robustness-harness: interactive demo")
    runs = read_runs(run_dirs)
    if not runs:
        st.info("No run to show: start it as `harness app RUN_DIR ...` with finished run folders.")
        st.stop()
    primary, models = sidebar(runs)
    # on_change="rerun": only the open tab's content runs (a slider in Attack does not redraw
    # the report); the Attack tab reads the last upload and the sample grid from their caches
    results, samples, upload, attack = st.tabs(TABS, on_change="rerun", key=VIEW)
    if results.open:
        with results:
            results_view.results_tab(
                list({m.run.path: m.run for m in models.values()}.values()) or [primary]
            )
    if samples.open:
        with samples:
            views.samples_tab(primary)
    if upload.open:
        with upload:
            views.upload_tab(primary, models)
    if attack.open:
        with attack:
            views.attack_tab(
                primary, models, views.last_upload(primary), views.sample_pool(primary)
            )


def read_runs(run_dirs: Sequence[str]) -> list[AppRun]:
    """The run folders that can be read; each one that cannot gets its message in the page."""
    if not run_dirs:
        st.error("No run folder given, and none found under reports/ (run `harness run` first).")
    runs = []
    for path in run_dirs:
        try:
            runs.append(cached_run(str(path), stamp(path)))
        except HarnessError as exc:
            st.error(str(exc))
    return runs


def sidebar(runs: list[AppRun]) -> tuple[AppRun, dict[str, AppModel]]:
    """The run whose data and settings the page uses, and the models to compare on it, by label."""
    bar = st.sidebar
    i = bar.selectbox("Run", range(len(runs)), format_func=lambda k: runs[k].label, key="run")
    primary = runs[i]
    pool = [m for r in runs if r.compatible(primary) for m in cached_models(str(r.path), r.stamp)]
    named = labels(pool)
    for label, m in named.items():
        if not m.available:
            bar.warning(f"{label}: unavailable: {m.reason}")
    available = {label: m for label, m in named.items() if m.available}
    default = [k for k, m in available.items() if m.run.path == primary.path]
    chosen = bar.multiselect(
        "Models (baseline and hardened)",
        list(available),
        default=default,
        key=f"models:{primary.label}",
    )
    bar.caption(f"{primary.result.data.name}: classes {', '.join(primary.class_names)}; "
                f"input {'x'.join(map(str, primary.input_shape))}")  # fmt: skip
    return primary, {k: available[k] for k in chosen}


if __name__ == "__main__":  # ``streamlit run`` executes this file as __main__
    main(sys.argv[1:])
