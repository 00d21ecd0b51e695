"""The report as a document: headings, paragraphs, captioned tables and figures, written as
Markdown (figures referenced by file name) and as one self-contained HTML page.

Text is Markdown (``**bold**``, ```code```). ``markdown-it-py`` (CommonMark with tables, raw
HTML escaped) turns each block's Markdown into HTML; the page template here adds what
Markdown has no syntax for: numbered captions (a table's ``<caption>``, a ``<figure>``'s
``<figcaption>``), figures embedded as ``data:`` URIs, and the style sheet.

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
>>> "<p><strong>tpe</strong> won</p>" in render_html(blocks, {}, "Result")
True
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


def _markdown(block: Heading | Para | Table) -> str:
    """A heading, paragraph or table (without its caption) as Markdown."""
    if isinstance(block, Heading):
        return f"{'#' * block.level} {block.text}"
    if isinstance(block, Para):
        return block.text
    lines = [
        "| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
        "| " + " | ".join("---" for _ in block.headers) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
    return "\n".join(lines)


def render_markdown(blocks: Sequence[Block]) -> str:
    """The report as Markdown; figures are referenced by file name (next to the report)."""
    out: list[str] = []
    tables = figures = 0
    for block in blocks:
        if isinstance(block, Figure):
            figures += 1
            out.append(f"![{block.alt}]({block.file})")
            out.append(f"*Figure {figures}. {block.caption}*")
        else:
            out.append(_markdown(block))
            if isinstance(block, Table):
                tables += 1
                out.append(f"*Table {tables}. {block.caption}*")
    return "\n\n".join(out) + "\n"


def _markdown_it() -> Any:
    """CommonMark with GFM tables, raw HTML escaped; a table opens with ``env["caption"]``."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def table_open(renderer: Any, tokens: Any, idx: int, options: Any, env: dict[str, str]) -> str:
        caption = env.get("caption")
        return "<table>\n" + (f"<caption>{caption}</caption>\n" if caption else "")

    md.add_render_rule("table_open", table_open)
    return md


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
    md = _markdown_it()
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
        if isinstance(block, Figure):
            figures += 1
            data = base64.b64encode(images[block.file]).decode("ascii")
            out.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(block.alt)}">'
                f"<figcaption>Figure {figures}. {md.renderInline(block.caption)}</figcaption>"
                "</figure>"
            )
            continue
        env: dict[str, str] = {}
        if isinstance(block, Table):
            tables += 1
            env["caption"] = f"Table {tables}. {md.renderInline(block.caption)}"
        out.append(md.render(_markdown(block), env).rstrip("\n"))
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
