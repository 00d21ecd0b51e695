"""A small document model — headings, paragraphs, captioned tables and figures — rendered
as Markdown (figures referenced by file name) and as one self-contained HTML page (figures
embedded as ``data:`` URIs). Text may hold ``**bold**`` and ```code``` spans.

>>> blocks = [Heading("Result", 1), Para("**tpe** won"), Table(["a", "b"], [["1", "2"]], "Two.")]
>>> print(render_markdown(blocks))
# Result
<BLANKLINE>
**tpe** won
<BLANKLINE>
| a | b |
| --- | --- |
| 1 | 2 |
<BLANKLINE>
*Table 1. Two.*
<BLANKLINE>
>>> "<strong>tpe</strong> won" in render_html(blocks, {}, "Result")
True
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Block", "Figure", "Heading", "Para", "Table", "render_html", "render_markdown"]


@dataclass
class Heading:
    """A section title (level 1 is the page's title)."""

    text: str
    level: int = 2


@dataclass
class Para:
    """A paragraph."""

    text: str


@dataclass
class Table:
    """A table of text cells with the caption shown under it."""

    headers: list[str]
    rows: list[list[str]]
    caption: str


@dataclass
class Figure:
    """A PNG figure (its file name next to the report) with the caption shown under it."""

    file: str
    alt: str
    caption: str


Block = Heading | Para | Table | Figure


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: Sequence[Block]) -> str:
    """The report as Markdown; figures are referenced by file name (next to the report)."""
    out: list[str] = []
    tables = figures = 0
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Para):
            out.append(block.text)
        elif isinstance(block, Table):
            tables += 1
            lines = [
                "| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
                "| " + " | ".join("---" for _ in block.headers) + " |",
            ]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
            out.append(f"*Table {tables}. {block.caption}*")
        else:
            figures += 1
            out.append(f"![{block.alt}]({block.file})")
            out.append(f"*Figure {figures}. {block.caption}*")
    return "\n\n".join(out) + "\n"


def _inline_html(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
    return text


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1em 0 0.3em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; }
caption { caption-side: bottom; text-align: left; font-style: italic; padding-top: 0.4em; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; }
figcaption { font-style: italic; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def render_html(blocks: Sequence[Block], images: dict[str, bytes], title: str) -> str:
    """The report as one self-contained HTML page: every PNG embedded as a data URI."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    tables = figures = 0
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{_inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            out.append(f"<p>{_inline_html(block.text)}</p>")
        elif isinstance(block, Table):
            tables += 1
            out.append("<table>")
            out.append(
                f"<caption>Table {tables}. {_inline_html(block.caption)}</caption>"
                "<thead><tr>"
                + "".join(f"<th>{_inline_html(h)}</th>" for h in block.headers)
                + "</tr></thead>"
            )
            out.append("<tbody>")
            for row in block.rows:
                out.append("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>")
            out.append("</tbody></table>")
        else:
            figures += 1
            data = base64.b64encode(images[block.file]).decode("ascii")
            out.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(block.alt)}">'
                f"<figcaption>Figure {figures}. {_inline_html(block.caption)}</figcaption>"
                "</figure>"
            )
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
