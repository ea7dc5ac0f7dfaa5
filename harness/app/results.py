"""The Results tab: each run's answer first (every model's clean and robust accuracy at the
headline ε with its interval, the report's verdict and curve), then its whole report and every
measurement. Read from the run folder; nothing is recomputed. Streamlit calls only."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st
from PIL import Image

from harness import stats
from harness.app import markdown
from harness.app.runs import REPORT_MD, AppRun
from harness.reading import num
from harness.results.rundir import RESULTS_CSV
from harness.verdict import verdict

VERDICT = "## Verdict"  # the report section shown before the full report


def results_tab(runs: Sequence[AppRun]) -> None:
    """Each run's answer first: per model, clean and robust accuracy at the headline ε with their
    95% intervals, the report's verdict and curve; the full report below (nothing recomputed)."""
    for run in runs:
        st.subheader(f"Run {run.label}")
        v = verdict(run.result)
        cols = st.columns(max(len(v.models), 1))
        for col, m in zip(cols, v.models, strict=False):
            col.metric(f"{m.role}: clean accuracy", m.clean.text())
            if m.lowest is not None and v.eps is not None:
                name, robust = m.lowest
                col.metric(f"{m.role}: robust accuracy at ε = {num(v.eps)}", robust.text(),
                           help=f"{name}; {stats.LEVEL}; ε: {v.rule}")  # fmt: skip
        _report(run)
        with st.expander(f"{RESULTS_CSV} (every measurement)"):
            st.dataframe(_rows(run), hide_index=True)


def _rows(run: AppRun) -> list[dict]:
    return [
        {"model": r.model, "attack": r.attack, "eps": r.eps, "metric": r.metric, "value": r.value}
        for r in run.result.measurements
    ]


def _report(run: AppRun) -> None:
    """report.md: its verdict shown first, the rest in an expander; figures from the run folder
    and tables as data frames (which scroll sideways rather than run off the page)."""
    path = run.path / REPORT_MD
    if not path.is_file():
        st.warning(f"{path}: no {REPORT_MD} in this run folder")
        return
    head, rest = markdown.split_after(path.read_text(encoding="utf-8"), VERDICT)
    _blocks(run, head)
    with st.expander("Full report (report.md)", expanded=not head):
        _blocks(run, rest)


def _blocks(run: AppRun, text: str) -> None:
    for block in markdown.blocks(text):
        if isinstance(block, markdown.Table):
            st.dataframe(pd.DataFrame(block.rows, columns=block.columns), hide_index=True)
        elif isinstance(block, markdown.Figure):
            _figure(run, block.alt, block.name)
        else:
            st.markdown(block.text)


def _figure(run: AppRun, alt: str, name: str) -> None:
    file = (run.path / name).resolve()
    if not file.is_relative_to(run.path.resolve()) or not file.is_file():
        st.caption(f"({alt}: {name} is not in the run folder)")
        return
    with Image.open(file) as im:
        st.image(im.copy(), caption=alt)
