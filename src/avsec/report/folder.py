"""The layout every paper's report folder shares, and its tables as HTML pages.

``results/<paper>/report/`` holds ``report.md`` (the whole report in Markdown, linking the rest) and one folder per
kind of result: ``tables/`` (each table as an HTML page, TSV where the values are data), ``figures/`` (PNG),
``audio/`` (WAV examples) and ``video/`` (MP4 examples); a paper has the folders it has results for. The workflow's
HTML report (``snakemake --report``) lists each folder's files under its paper's category (rules/common.smk,
``paper_report``), so the folder names here are the report's subcategories.

The HTML table pages render the Markdown the report modules write (:func:`avsec.report.tables.markdown_table`
tables, paragraphs, ``-`` lists, ``#`` headings, inline code, bold and links): Snakemake's report shows HTML and
images, not Markdown.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

# folder -> what the report calls it (its subcategory)
FOLDERS = {"tables": "Tables", "figures": "Figures", "audio": "Audio examples", "video": "Videos"}

STYLE = (
    "body{font-family:sans-serif;font-size:14px;margin:1em;color:#222}"
    "table{border-collapse:collapse;margin:0.6em 0}"
    "th,td{border:1px solid #bbb;padding:2px 6px;text-align:right}"
    "th{background:#eee}td:first-child,th:first-child{text-align:left}"
    "p{max-width:60em}"
)


def report_file(root: str | Path, folder: str, name: str) -> Path:
    """The path of ``name`` in the report folder ``root``'s ``folder`` (one of :data:`FOLDERS`), created."""
    if folder not in FOLDERS:
        raise ValueError(f"report folder {folder!r} is not one of {', '.join(FOLDERS)}")
    path = Path(root) / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_table_page(root: str | Path, stem: str, title: str, markdown: str) -> Path:
    """Write ``tables/<stem>.html`` under the report folder ``root``: ``title`` and the Markdown ``markdown``
    (tables with their notes) as one HTML page."""
    path = report_file(root, "tables", f"{stem}.html")
    path.write_text(html_page(title, markdown), encoding="utf-8")
    return path


def html_page(title: str, markdown: str) -> str:
    """A self-contained HTML page: ``title`` as its heading, then ``markdown`` rendered (:func:`markdown_html`)."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n<h1>{_inline(title)}</h1>\n{markdown_html(markdown)}</body></html>\n"
    )


def markdown_html(markdown: str) -> str:
    """HTML for the Markdown the reports write: blocks separated by blank lines, each a pipe table (header, ``---``
    line, rows; ``\\|`` is a literal bar), a ``-`` list, ``#`` headings or a paragraph; a block of lines that start
    with ``|`` and then something else (a table with its caption line) is split there."""
    out = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = block.splitlines()
        while lines:
            if lines[0].startswith("|"):
                out.append(_table(_take(lines, lambda line: line.startswith("|"))))
            elif lines[0].startswith("#"):
                level = len(lines[0]) - len(lines[0].lstrip("#"))
                text = lines.pop(0)[level:].strip()
                out.append(f"<h{min(level + 1, 6)}>{_inline(text)}</h{min(level + 1, 6)}>")
            elif lines[0].startswith("- "):
                items = _take(lines, lambda line: line.startswith("- "))
                out.append("<ul>" + "".join(f"<li>{_inline(item[2:])}</li>" for item in items) + "</ul>")
            else:
                text = _take(lines, lambda line: not line.startswith(("|", "#", "- ")))
                out.append(f"<p>{_inline(' '.join(text))}</p>")
    return "\n".join(out) + "\n"


def _take(lines: list[str], keep) -> list[str]:
    """Remove and return the leading lines of ``lines`` for which ``keep`` holds."""
    taken = []
    while lines and keep(lines[0]):
        taken.append(lines.pop(0))
    return taken


def _cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _table(rows: list[str]) -> str:
    header, body = _cells(rows[0]), [_cells(r) for r in rows[1:] if not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", r)]
    head = "<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in header) + "</tr>"
    cells = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead>{head}</thead><tbody>{cells}</tbody></table>"


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', text)
