"""Reports: one engine (``engine``), sections as small modules (``sections/``), prose in Jinja2
templates (``templates/``), and three ordered lists of sections: the run report
(``run.RUN_REPORT``), the comparison (``comparison.COMPARISON``) and the grid report
(``grid.GRID_REPORT``). ``files`` names the figures; the run folder itself is written and
read by ``harness.results.rundir``.

The names below are the run report's public surface (``write_report``, ``render_markdown``,
``figures``) and the sections other modules and tests use.
"""

from __future__ import annotations

from harness.report.files import (
    ATTENTION_PNG,
    MINIMAL_PNG,
    NOISE_PNG,
    confusion_file,
    esd_file,
    example_files,
    weights_file,
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
    "MINIMAL_PNG",
    "NOISE_PNG",
    "RUN_REPORT",
    "alpha_reading",
    "confusion_file",
    "esd_file",
    "example_files",
    "figures",
    "recipe_text",
    "render_markdown",
    "section_attacks",
    "section_attention",
    "section_provenance",
    "section_sanity",
    "section_training",
    "weights_file",
    "write_report",
]
