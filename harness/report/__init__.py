"""Reports: one engine (``engine``), sections as small modules (``sections/``), prose in Jinja2
templates (``templates/``), and three ordered lists of sections: the run report
(``run.RUN_REPORT``), the comparison (``comparison.COMPARISON``) and the grid report
(``grid.GRID_REPORT``). ``files`` reads and writes a run's report folder.

The names below are the run report's public surface (``write_report``, ``render_markdown``,
``figures``) and the folder I/O other modules and tests use.
"""

from __future__ import annotations

from harness.report.files import (
    ATTENTION_PNG,
    GRADCAM_NPZ,
    MINIMAL_PNG,
    NOISE_PNG,
    confusion_file,
    csv_text,
    esd_file,
    example_files,
    gradcam_arrays,
    gradcam_from_arrays,
    read_csv,
    render_run_json,
    report_files,
    weights_file,
    write_csv,
)
from harness.report.run import RUN_REPORT, figures, render_markdown, write_report
from harness.report.sections.attacks import render as section_attacks
from harness.report.sections.attention import render as section_attention
from harness.report.sections.provenance import markdown as section_provenance
from harness.report.sections.sanity import render as section_sanity
from harness.report.sections.training import recipe_text
from harness.report.sections.training import render as section_training
from harness.report.sections.weights import alpha_reading

__all__ = [
    "ATTENTION_PNG",
    "GRADCAM_NPZ",
    "MINIMAL_PNG",
    "NOISE_PNG",
    "RUN_REPORT",
    "alpha_reading",
    "confusion_file",
    "csv_text",
    "esd_file",
    "example_files",
    "figures",
    "gradcam_arrays",
    "gradcam_from_arrays",
    "read_csv",
    "recipe_text",
    "render_markdown",
    "render_run_json",
    "report_files",
    "section_attacks",
    "section_attention",
    "section_provenance",
    "section_sanity",
    "section_training",
    "weights_file",
    "write_csv",
    "write_report",
]
