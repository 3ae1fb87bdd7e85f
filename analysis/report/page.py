"""report/index.html: the whole report in one self-contained page (figures inline as PNG data,
styles and the table-sorting script inline, no network access), readable straight from disk.

It holds the headline tables with intervals and baselines, the specificity panel, the heatmap
grids with reliability marks, the dendrograms with bootstrap values, sortable tables (click a
column heading) and the exact command and configuration that made the report.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pandas as pd

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 1em auto; padding: 0 1.5em; max-width: 1400px; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; margin: 0.3em 0; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; margin-top: 1.6em; } h3 { font-size: 1.05em; margin-top: 1.2em; }
#findings { margin-top: 0.4em; }
.table-box { max-width: 100%; overflow-x: auto; margin: 0.6em 0 1.2em; }
table { border-collapse: collapse; font-size: 0.82em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; cursor: pointer; user-select: none; white-space: normal; } th:first-child, td:first-child { text-align: left; }
th[title] { text-decoration: underline dotted; }
table.verdicts td, table.verdicts th { white-space: normal; text-align: left; } table.verdicts a { color: inherit; }
th.sorted-up::after { content: ' \\25B2'; } th.sorted-down::after { content: ' \\25BC'; }
tr:nth-child(even) td { background: #fafafa; }
figure { margin: 0.8em 0; } figure img { max-width: 100%; box-sizing: border-box; border: 1px solid #ddd; }
figcaption, .caption { color: #555; font-size: 0.85em; }
.finding { font-size: 1.02em; margin: 0.3em 0; }
.note { background: #fff6e0; border-left: 4px solid #e0a000; padding: 0.5em 1em; margin: 0.5em 0; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; white-space: pre-wrap; word-break: break-all; font-size: 0.8em; }
details { margin: 0.3em 0; } summary { cursor: pointer; font-weight: 600; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  .table-box { overflow: visible; }
  table { font-size: 7pt; } th, td { white-space: normal; padding: 1px 3px; }
  figure, tr, .finding { break-inside: avoid; } h2, h3 { break-after: avoid; }
  figure img { max-width: 100%; max-height: 24cm; }
  pre { white-space: pre-wrap; word-break: break-all; }
}
"""

#: click a heading to sort by it (numbers by their first value, text alphabetically)
SCRIPT = """
function cellValue(cell) {
  const text = cell.textContent.trim();
  const match = text.match(/^[+-]?\\d+(\\.\\d+)?/);
  return match ? parseFloat(match[0]) : text.toLowerCase();
}
function sortTable(header) {
  const table = header.closest('table');
  const index = Array.from(header.parentNode.children).indexOf(header);
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const up = !header.classList.contains('sorted-up');
  rows.sort((a, b) => {
    const x = cellValue(a.cells[index]), y = cellValue(b.cells[index]);
    if (typeof x === typeof y) { return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); }
    return typeof x === 'number' ? -1 : 1;
  });
  rows.forEach(row => body.appendChild(row));
  table.querySelectorAll('th').forEach(th => th.classList.remove('sorted-up', 'sorted-down'));
  header.classList.add(up ? 'sorted-up' : 'sorted-down');
}
document.querySelectorAll('table.sortable th').forEach(th => th.addEventListener('click', () => sortTable(th)));
// print every folded section: a closed <details> would print as its summary line alone
window.addEventListener('beforeprint', () => document.querySelectorAll('details').forEach(d => { d.open = true; }));
"""


#: a table's plain-words headers -> what they are technically (the header's tooltip)
TIPS = {
    "mean, CI": "network mean over expressions, with its 95 % bootstrap interval over the faces",
    "over expressions (t)": "the network mean's t-interval over the expressions (df = expressions - 1)",
    "ranks first": "share of bootstrap replicates in which the network has the highest mean",
    "own mask best": "expressions whose own mask scores best (rank 1 in the double-centred matrix)",
    "permutation p": "mask-label permutation test (exact over the 720 assignments per network); adjusted: Benjamini-Hochberg over every claim",
    "difference, CI": "mean over shared expressions of first - second, paired interval",
    "specific alignment difference, CI": "difference of (score - face-prior score), paired interval",
    "covers": "what the interval's variation covers (faces, or folds and faces)",
    "p": "two-sided p of the paired difference (adjusted: Benjamini-Hochberg over every claim)",
}


def table_html(
    table: pd.DataFrame, first: str, identifier: str, tips: dict[str, str] | None = None, links: dict[str, str] | None = None, kind: str = "sortable"
) -> str:
    """A table in a box that scrolls sideways when too wide: the index as the first column,
    headed ``first``; every header's tooltip from ``tips`` (else ``TIPS``, else its name);
    ``links`` turns each cell of a column into a link to that anchor."""
    tips, links = {**TIPS, **(tips or {})}, links or {}
    head = "".join(f'<th title="{html.escape(tips.get(str(column), str(column)))}">{html.escape(str(column))}</th>' for column in [first, *table.columns])

    def cell(column: str, value: object) -> str:
        text = html.escape(str(value))
        return f'<td><a href="#{links[column]}">{text}</a></td>' if column in links else f"<td>{text}</td>"

    body = "".join(
        "<tr>" + f"<td>{html.escape(str(index))}</td>" + "".join(cell(str(column), value) for column, value in zip(table.columns, row, strict=True)) + "</tr>"
        for index, row in zip(table.index, table.itertuples(index=False), strict=True)
    )
    return f'<div class="table-box"><table class="{kind}" id="{identifier}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def image_html(path: Path, alt: str, caption: str = "") -> str:
    """The PNG at ``path`` inline (a data URL), so the page needs no other file, with its caption."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    text = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">{text}</figure>'


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Page:
    """An HTML page built section by section."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def heading(self, text: str, level: int = 2, identifier: str | None = None) -> None:
        self.parts.append(f'<h{level} id="{identifier or slug(text)}">{html.escape(text)}</h{level}>')

    def raw(self, markup: str) -> None:
        """Markup made by this module's helpers (already escaped)."""
        self.parts.append(markup)

    def paragraph(self, text: str, kind: str = "") -> None:
        self.parts.append(f'<p class="{kind}">{html.escape(text)}</p>' if kind else f"<p>{html.escape(text)}</p>")

    def bullets(self, items: list[str]) -> None:
        self.parts.append("<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>")

    def table(
        self, table: pd.DataFrame | None, first: str, caption: str = "", open_: bool = True, summary: str | None = None, tips: dict[str, str] | None = None
    ) -> None:
        """A table with an optional caption; with ``summary`` inside a collapsible block."""
        if table is None or table.empty:
            return
        content = table_html(table, first, slug(f"{summary or first}-{len(self.parts)}"), tips) + (
            f'<p class="caption">{html.escape(caption)}</p>' if caption else ""
        )
        if summary is not None:
            content = f"<details{' open' if open_ else ''}><summary>{html.escape(summary)}</summary>{content}</details>"
        self.parts.append(content)

    def image(self, path: Path, alt: str, caption: str = "") -> None:
        if path.is_file():
            self.parts.append(image_html(path, alt, caption))

    def code(self, text: str) -> None:
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def render(self) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(self.parts)
            + f"<script>{SCRIPT}</script></body></html>\n"
        )

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path
