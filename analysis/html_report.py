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
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; padding: 0 2em; max-width: 1400px; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; margin-top: 2em; } h3 { font-size: 1.05em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.82em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; cursor: pointer; user-select: none; } th:first-child, td:first-child { text-align: left; }
th.sorted-up::after { content: ' \\25B2'; } th.sorted-down::after { content: ' \\25BC'; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
.note { background: #fff6e0; border-left: 4px solid #e0a000; padding: 0.5em 1em; margin: 0.5em 0; }
.caption { color: #555; font-size: 0.85em; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.8em; }
details { margin: 0.3em 0; } summary { cursor: pointer; font-weight: 600; }
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
"""


def table_html(table: pd.DataFrame, first: str, identifier: str) -> str:
    """A sortable table: the index as the first column, headed ``first``."""
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in [first, *table.columns])
    body = "".join(
        "<tr>" + f"<td>{html.escape(str(index))}</td>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in row) + "</tr>"
        for index, row in zip(table.index, table.itertuples(index=False), strict=True)
    )
    return f'<table class="sortable" id="{identifier}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def image_html(path: Path, alt: str) -> str:
    """The PNG at ``path`` inline (a data URL), so the page needs no other file."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Page:
    """An HTML page built section by section."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f'<h{level} id="{slug(text)}">{html.escape(text)}</h{level}>')

    def paragraph(self, text: str, kind: str = "") -> None:
        self.parts.append(f'<p class="{kind}">{html.escape(text)}</p>' if kind else f"<p>{html.escape(text)}</p>")

    def bullets(self, items: list[str]) -> None:
        self.parts.append("<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>")

    def table(self, table: pd.DataFrame | None, first: str, caption: str = "", open_: bool = True, summary: str | None = None) -> None:
        """A table with an optional caption; with ``summary`` inside a collapsible block."""
        if table is None or table.empty:
            return
        content = table_html(table, first, slug(f"{summary or first}-{len(self.parts)}")) + (
            f'<p class="caption">{html.escape(caption)}</p>' if caption else ""
        )
        if summary is not None:
            content = f"<details{' open' if open_ else ''}><summary>{html.escape(summary)}</summary>{content}</details>"
        self.parts.append(content)

    def image(self, path: Path, alt: str) -> None:
        if path.is_file():
            self.parts.append(image_html(path, alt))

    def code(self, text: str) -> None:
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def render(self) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(self.parts)
            + f"<script>{SCRIPT}</script></body></html>\n"
        )

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path
