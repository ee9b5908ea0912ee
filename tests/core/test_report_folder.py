"""The shared report folder: its layout and the tables' HTML pages (what Snakemake's report shows)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from avsec.report.folder import FOLDERS, html_page, report_file, write_table_page
from avsec.report.tables import markdown_table


class Cells(HTMLParser):
    """The text of every table cell, row by row, and of every paragraph."""

    def __init__(self):
        super().__init__()
        self.rows, self.paragraphs, self.links, self._text = [], [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "p"):
            self._text = ""
        elif tag == "a":
            self.links.append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._text)
        elif tag == "p":
            self.paragraphs.append(self._text)

    def handle_data(self, data):
        if self._text is not None:
            self._text += data


def test_a_table_page_has_the_markdown_tables_cells_and_notes(tmp_path):
    table = markdown_table(["method", "a|b", "SNR <dB>"], [["ours", 1.5, None], ["paper's", "x | y", 2]])
    markdown = f"WideResNet on `speech_commands`:\n\n{table}\nA note with **bold** and [a link](x.tsv).\n"
    path = write_table_page(tmp_path, "table1", "Table 1: <ours>", markdown)
    assert path == tmp_path / "tables" / "table1.html"
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<h1>Table 1: &lt;ours&gt;</h1>" in page
    parsed = Cells()
    parsed.feed(page)
    assert parsed.rows == [["method", "a|b", "SNR <dB>"], ["ours", "1.50", "–"], ["paper's", "x | y", "2"]]
    assert parsed.paragraphs == ["WideResNet on speech_commands:", "A note with bold and a link."]
    assert parsed.links == ["x.tsv"] and "<code>speech_commands</code>" in page and "<b>bold</b>" in page


def test_a_table_followed_by_its_caption_line_and_a_list():
    page = html_page("t", "| a |\n|---|\n| 1 |\nThe caption.\n- one\n- two `x`\n\n## Sub")
    assert "<tbody><tr><td>1</td></tr></tbody></table>\n<p>The caption.</p>" in page
    assert "<ul><li>one</li><li>two <code>x</code></li></ul>" in page and "<h3>Sub</h3>" in page


def test_report_file_creates_its_folder_and_knows_only_the_shared_layout(tmp_path):
    assert list(FOLDERS) == ["tables", "figures", "audio", "video"]
    path = report_file(tmp_path, "audio", "x.wav")
    assert path == tmp_path / "audio" / "x.wav" and path.parent.is_dir() and not path.exists()
    with pytest.raises(ValueError, match="report folder 'wav' is not one of tables, figures, audio, video"):
        report_file(tmp_path, "wav", "x.wav")
