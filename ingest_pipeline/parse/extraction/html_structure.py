"""Turns an HTML document's tags into blocks of text: headings, list items, table rows, paragraphs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ingest_pipeline.parse.extraction.blocks import PARAGRAPH, join_blocks

_DROPPED = {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "select"}
# Only these belong in <head>; any other tag means the page left out </head> and <body>.
_HEAD = {"head", "title", "meta", "link", "base", "style", "script", "noscript", "template"}
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header",
    "hr", "html", "li", "main", "nav", "p", "pre", "section", "summary", "table", *_HEADINGS,
}
_LAYOUT = {"table", "ul", "ol", "pre", *_HEADINGS}
# HTML's own whitespace; a no-break space is content and stays.
_SPACES = re.compile(r"[ \t\n\r\f]+")
# Deeper lists are indented no further: otherwise thousands of nested lists grow the text quadratically.
_MAX_LIST_INDENT = 8
# ASCII digits only (str.isdigit accepts "²", which int() refuses), and few of them: past 4,300
# digits Python refuses to read a number at all.
_START_NUMBER = re.compile(r"-?[0-9]{1,9}")


class StructuredTextParser(HTMLParser):
    """Collects blocks of visible text as the tags open and close around them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._blocks: list[tuple[str, str]] = []
        self._inline: list[str] = []
        self._title: list[str] = []
        self._dropped = 0
        self._pre = 0
        self._in_head = self._in_title = self._saw_h1 = False
        self._lists: list[list[int]] = []  # [ordered, next number] per open list
        self._marker: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._runs = 0  # numbers each list or table so adjacent ones stay apart

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropped += 1
            return
        if self._dropped or self._opens_head_tag(tag):
            return
        if self._cell is not None and tag in _LAYOUT:
            # Headings, lists or tables inside a cell make it a layout table: read it as blocks.
            self._end_row()
        if tag == "br":
            self._inline.append("\n")
        elif tag in ("td", "th"):
            self._end_cell()
            self._cell = []
        elif tag == "tr":
            self._end_row()
            self._row = []
        elif tag in ("ul", "ol"):
            self._flush()
            self._runs += not self._lists
            self._lists.append([tag == "ol", _start_number(attrs)])
        else:
            self._open_block(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._dropped = max(0, self._dropped - 1)
        elif self._dropped:
            return
        elif tag in ("head", "title"):
            self._in_head = self._in_head and tag != "head"
            self._in_title = False
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "table"):
            self._end_row()
        elif tag in ("ul", "ol"):
            self._flush()
            del self._lists[-1:]
        elif tag in _BLOCKS:
            self._flush(heading=_HEADINGS.get(tag, 0))
            if tag == "pre" and self._pre:
                self._pre -= 1

    def parse_html_declaration(self, i: int) -> int:
        try:
            return super().parse_html_declaration(i)
        except AssertionError:
            # A malformed "<![...": Python gives up on the whole page where browsers read a bogus comment.
            return self.parse_bogus_comment(i)

    def handle_data(self, data: str) -> None:
        if self._dropped or (self._in_head and not self._in_title):
            return
        if self._in_title:
            self._title.append(data)
        else:
            self._inline.append(data if self._pre else _SPACES.sub(" ", data))

    def text(self) -> str:
        self._end_row()
        self._flush()
        title = " ".join("".join(self._title).split())
        if title and not self._saw_h1:
            self._blocks.insert(0, (f"# {title}", PARAGRAPH))
        return join_blocks(self._blocks)

    def _opens_head_tag(self, tag: str) -> bool:
        """Track <head> and <title>; True when the tag is head-only and carries no visible text."""
        if tag == "title":
            self._in_title = True
        self._in_head = (self._in_head or tag == "head") and tag in _HEAD
        return tag in _HEAD

    def _open_block(self, tag: str) -> None:
        if tag == "table":
            self._end_row()
            self._runs += 1
        if tag in _BLOCKS:
            self._flush()
        if tag == "li":
            self._marker = self._list_marker()
        if tag == "pre":
            self._pre += 1
        self._saw_h1 = self._saw_h1 or tag == "h1"

    def _list_marker(self) -> str:
        if not self._lists:
            return "- "
        numbering = self._lists[-1]
        numbering[1] += 1
        indent = _indent(len(self._lists) - 1)
        return f"{indent}{numbering[1] - 1}. " if numbering[0] else f"{indent}- "

    def _flush(self, heading: int = 0) -> None:
        raw = "".join(self._inline)
        self._inline.clear()
        text = raw.removeprefix("\n").rstrip() if self._pre else _tidy(raw)
        if not text:
            return
        if self._cell is not None:
            self._cell.append(text)
        elif heading:
            self._blocks.append(("#" * heading + " " + " ".join(text.split("\n")), PARAGRAPH))
        elif self._marker is not None or self._lists:
            marker, self._marker = self._marker, None
            text = marker + text if marker else _indent(len(self._lists)) + text
            self._blocks.append((text, f"list {self._runs}"))
        else:
            self._blocks.append((text, PARAGRAPH))

    def _end_cell(self) -> None:
        if self._cell is None:
            return
        self._flush()
        cell, self._cell = self._cell, None
        if self._row is None:
            self._row = []
        self._row.append(" ".join(cell).replace("\n", " "))

    def _end_row(self) -> None:
        self._end_cell()
        row, self._row = self._row, None
        if row and any(row):
            self._blocks.append((" | ".join(row), f"table {self._runs}"))


def _indent(level: int) -> str:
    return "  " * min(level, _MAX_LIST_INDENT)


def _start_number(attrs: list[tuple[str, str | None]]) -> int:
    start = (dict(attrs).get("start") or "1").strip()
    return int(start) if _START_NUMBER.fullmatch(start) else 1


def _tidy(text: str) -> str:
    """Trim each line (the breaks left are <br>s) and keep at most one blank line in a row."""
    lines = [re.sub(" {2,}", " ", line).strip(" ") for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
