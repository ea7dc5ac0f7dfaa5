"""The report engine: a report is an ordered list of sections, each a small module.

A section module answers three questions about a context (a ``RunResult`` for the run report, a
comparison or a grid for the others):

- ``applies(ctx) -> bool``: whether the section is in this report at all;
- ``markdown(ctx) -> str``: its Markdown (headings included; prose from ``templates/``);
- ``figures(ctx) -> dict[file name, builder]``: the PNG figures its Markdown links to.

``applies`` and ``figures`` may be left out (always applies; no figures). Adding a section is one
new module plus one line in a list (``harness.report.run.RUN_REPORT`` and its siblings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Protocol

from matplotlib.figure import Figure

Figures = dict[str, Callable[[], Figure]]  # file name -> builder, called one at a time


class Section(Protocol):
    """What the engine asks of a section (a module or any object with these functions)."""

    def applies(self, ctx: Any) -> bool: ...

    def markdown(self, ctx: Any) -> str: ...

    def figures(self, ctx: Any) -> Figures: ...


Sections = Sequence[Section | ModuleType]


def active(sections: Sections, ctx: Any) -> list[Section | ModuleType]:
    """The sections that apply to ``ctx``, in order."""
    return [s for s in sections if getattr(s, "applies", _always)(ctx)]


def render_markdown(sections: Sections, ctx: Any) -> str:
    """The sections' Markdown, a blank line between two, one newline at the end; a section
    whose Markdown is empty leaves no trace."""
    parts = [s.markdown(ctx) for s in active(sections, ctx)]
    return "\n\n".join(p for p in parts if p) + "\n"


def figures(sections: Sections, ctx: Any) -> Figures:
    """Every applying section's figures, in the sections' order (a later name wins)."""
    out: Figures = {}
    for s in active(sections, ctx):
        out |= getattr(s, "figures", _none)(ctx)
    return out


def _always(_ctx: Any) -> bool:
    return True


def _none(_ctx: Any) -> Figures:
    return {}
