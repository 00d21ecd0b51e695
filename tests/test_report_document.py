"""The report's document: its Markdown, and the HTML markdown-it-py makes of it."""

from __future__ import annotations

import base64

from tunebench.report.document import Figure, Heading, Para, Table, render_html, render_markdown

PNG = b"\x89PNG\r\n\x1a\n"


def body(page: str) -> str:
    return page.split("<body>\n", 1)[1].rsplit("\n</body>", 1)[0]


def test_a_heading_and_a_table_in_html():
    blocks = [
        Heading("Final `results` < 1", 2),
        Table(["strategy", "a | b"], [["**tpe**", "x < y"], ["`n_hidden`", ""]], "Read *this*."),
    ]
    assert body(render_html(blocks, {}, "T")) == (
        "<h2>Final <code>results</code> &lt; 1</h2>\n"
        "<table>\n<caption>Table 1. Read <em>this</em>.</caption>\n"
        "<thead>\n<tr>\n<th>strategy</th>\n<th>a | b</th>\n</tr>\n</thead>\n"
        "<tbody>\n<tr>\n<td><strong>tpe</strong></td>\n<td>x &lt; y</td>\n</tr>\n"
        "<tr>\n<td><code>n_hidden</code></td>\n<td></td>\n</tr>\n</tbody>\n</table>"
    )
    # The Markdown escapes the pipe in a cell; the HTML shows it as it was.
    assert "| strategy | a \\| b |" in render_markdown(blocks)


def test_html_escapes_raw_html_and_embeds_figures():
    page = render_html(
        [Para("a <script>x</script> & b"), Figure("f.png", 'the "alt"', "A `c` caption.")],
        {"f.png": PNG},
        "T <1>",
    )
    assert "<title>T &lt;1&gt;</title>" in page
    src = "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")
    assert body(page) == (
        "<p>a &lt;script&gt;x&lt;/script&gt; &amp; b</p>\n"
        f'<figure><img src="{src}" alt="the &quot;alt&quot;">'
        "<figcaption>Figure 1. A <code>c</code> caption.</figcaption></figure>"
    )
