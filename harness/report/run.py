"""The run report: the ordered sections of a run's report.md, and its folder writer."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from harness import plots
from harness.card import card_json, card_markdown
from harness.report import engine
from harness.report.html import render_html
from harness.report.sections import (
    appendix,
    attacks,
    attention,
    breakdown,
    certified,
    clean,
    corruptions,
    data,
    defences,
    evasion,
    examples,
    fallbacks,
    gradcam,
    metrics,
    minimal,
    models,
    naive,
    noise,
    provenance,
    pushed,
    reference,
    sanity,
    spec,
    sweep,
    timings,
    title,
    training,
    verdict,
    weights,
)
from harness.results import RunResult, rundir

RUN_REPORT: list[ModuleType] = [  # the order of report.md: the answer first, the appendix last
    title,
    verdict,
    metrics,
    attacks,
    sweep,
    pushed,
    breakdown,
    reference,
    defences,
    naive,
    certified,
    corruptions,
    sanity,
    noise,
    minimal,
    examples,
    gradcam,
    attention,
    evasion,
    weights,
    fallbacks,
    appendix,
    spec,
    data,
    models,
    training,
    clean,
    timings,
    provenance,
]


def render_markdown(result: RunResult) -> str:
    """report.md of a run."""
    return engine.render_markdown(RUN_REPORT, result)


def figures(result: RunResult) -> engine.Figures:
    """File name -> figure builder; built one at a time so only one figure is alive."""
    return engine.figures(RUN_REPORT, result)


def html_writer(markdown_file: str, title: str) -> rundir.Writer:
    """Writes the HTML form of the folder's ``markdown_file`` (written before it), figures
    inlined (``harness.report.html``)."""

    def write(path: Path) -> None:
        text = path.with_name(markdown_file).read_text(encoding="utf-8")
        path.write_text(render_html(text, path.parent, title), encoding="utf-8", newline="")

    return write


def write_report(result: RunResult, out_dir: str | Path, *, replace: bool = False) -> Path:
    """Write the report folder ``out_dir`` (``harness.results.rundir.write_run``): the run's
    files, its figures, then report.md. It must be missing or empty, or ``replace`` an earlier
    report (``harness.outputs.report_target`` decides), replaced once the new one is complete."""
    files: dict[str, rundir.Writer] = {
        name: (lambda path, make=make: plots.save(make(), path))
        for name, make in figures(result).items()
    }
    files["card.json"] = rundir.text_writer(lambda: card_json(result))
    files["card.md"] = rundir.text_writer(lambda: card_markdown(result))
    files["report.md"] = rundir.text_writer(lambda: render_markdown(result))
    files["report.html"] = html_writer("report.md", f"Robustness report: {result.name}")
    return rundir.write_run(result, out_dir, files, replace=replace)
