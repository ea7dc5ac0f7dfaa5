"""The reports' prose: Jinja2 templates in ``harness/report/templates/`` (``<name>.md.j2``).

Numbers and tables are formatted in code; the words around them live in the templates. Block
tags eat their own line (``trim_blocks``, ``lstrip_blocks``) and trailing newlines are
dropped, so a template renders exactly the text it shows; an unknown name is an error.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"  # shipped as package data (setup.cfg)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # Markdown, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )


def prose(template: str, /, **values: Any) -> str:
    """Render ``templates/<template>.md.j2`` with ``values``; trailing newlines dropped (the engine
    puts one blank line between sections)."""
    return _environment().get_template(f"{template}.md.j2").render(**values).rstrip("\n")
