"""HTML extraction: the visible text of a page, its structure kept as Markdown-like lines."""

from __future__ import annotations

import codecs
import re
from collections.abc import Generator
from pathlib import Path

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction.html_structure import StructuredTextParser
from ingest_pipeline.parse.extraction.limits import Deadline
from ingest_pipeline.parse.extraction.plain_text import decode_text

_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
# As browsers do (WHATWG Encoding): these labels really mean Windows-1252 on the web.
_WEB_ALIASES = {"ascii": "cp1252", "iso8859-1": "cp1252"}
_CHARSET_SCAN_BYTES = 8192
# The page is fed in pieces so the deadline is checked while a large page is parsed.
_FEED_CHARACTERS = 1 << 20


def extract_html(path: Path, deadline: Deadline | None = None) -> Generator[Page, None, None]:
    data = path.read_bytes()
    text = html_to_text(decode_text(data, declared=declared_charset(data)), deadline)
    if data.strip() and not text.strip():
        raise DocumentRejected(
            "The HTML page has no visible text: it holds only scripts, styles or markup. A page that "
            "builds its content with JavaScript has to be saved from a browser once it has loaded."
        )
    yield Page(number=1, text=text)


def declared_charset(data: bytes) -> str | None:
    """The encoding a `<meta>` tag in the first kilobytes names, if Python knows it."""
    match = _META_CHARSET.search(data[:_CHARSET_SCAN_BYTES])
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name if match else None
    except LookupError:
        return None
    # A page whose <meta> can be read as ASCII cannot really be UTF-16: browsers ignore this label.
    if name is None or name.startswith(("utf-16", "utf-32")):
        return None
    return _WEB_ALIASES.get(name, name)


def html_to_text(html: str, deadline: Deadline | None = None) -> str:
    parser = StructuredTextParser()
    html = _escape_unclosed_tail(html)
    for start in range(0, len(html), _FEED_CHARACTERS):
        if deadline is not None:
            deadline.check()
        parser.feed(html[start:start + _FEED_CHARACTERS])
    parser.close()
    return parser.text()


def _escape_unclosed_tail(html: str) -> str:
    """Escape every "<" after the last ">": none can open a tag, and Python's parser (before 3.13.4)
    takes time quadratic in their number to find that out; as text they read the same.
    """
    end = html.rfind(">") + 1
    return html[:end] + html[end:].replace("<", "&lt;")
