"""A report's browser-ready form: ``report.html`` from the same Markdown as ``report.md``.

The Markdown (the same sections and templates) is rendered with markdown-it (CommonMark plus
tables); every image the report links to in its folder is put inside the page as a data URI,
so the file is self-contained: it opens from disk, from an e-mail or a CI artifact, with no
network. The style sheet keeps it readable on a phone (wide tables scroll sideways, images
shrink to the screen) and in print (tables and figures are not split across pages).
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from markdown_it import MarkdownIt

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
STYLE = """
:root { color-scheme: light; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
       max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 .25rem; }
h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
h3 { font-size: 1.1rem; margin-top: 1.5rem; }
.table { overflow-x: auto; margin: .75rem 0; }
table { border-collapse: collapse; font-size: .9rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
img { max-width: 100%; max-height: 70vh; width: auto; height: auto; }
code { font-size: .88em; background: #f6f8fa; padding: .05rem .25rem; border-radius: 3px; }
pre { overflow-x: auto; background: #f6f8fa; padding: .75rem; font-size: .85rem; }
@media (max-width: 40rem) { body { font-size: 15px; padding: .5rem .75rem 2rem; } }
@media print {
  body { max-width: none; font-size: 11pt; }
  .table, table, img, pre { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def render_html(markdown: str, folder: Path, title: str) -> str:
    """The page of ``markdown``, its images (relative paths in ``folder``) inlined."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    body = re.sub(r"<table>", '<div class="table"><table>', body)
    body = re.sub(r"</table>", "</table></div>", body)
    body = re.sub(r'<img src="([^"]+)"', lambda m: f'<img src="{_inline(folder, m[1])}"', body)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )


def _inline(folder: Path, src: str) -> str:
    """A data URI of the folder's file ``src``; anything else (a URL, a missing file) as given."""
    path = folder / html.unescape(src)
    mime = MIME.get(path.suffix.lower())
    if "/" in src or ":" in src or mime is None or not path.is_file():
        return src
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
