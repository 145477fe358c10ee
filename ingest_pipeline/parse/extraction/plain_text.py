"""Plain-text extraction: bytes in any common encoding decoded to text with `\\n` line breaks."""

from __future__ import annotations

import codecs
import re
from collections.abc import Generator
from pathlib import Path

import charset_normalizer

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction.media_types import SUPPORTED_DESCRIPTION

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# C0 and C1 controls other than tab, newlines, form feed and escape (kept for coloured logs).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
# Real text has next to none; binary bytes read as a code page give one in ten or more.
_MAX_CONTROL_SHARE = 0.05
# Binary formats are full of NULs, and so is UTF-16 without a byte-order mark (told apart by its
# NULs all falling on one side of each pair); a stray NUL in real text is only dropped (Postgres
# cannot store it).
_MAX_NUL_SHARE = 0.01
# In UTF-16 text that is mostly Latin script, most high bytes are NUL and next to no low ones.
_UTF16_HIGH_NUL_SHARE = 0.5
_UTF16_LOW_NUL_SHARE = 0.01
# Bytes that are not UTF-8 in otherwise UTF-8 text are read as Windows-1252 (text pasted together
# from two sources) when there is at least one valid multi-byte character for this many of them:
# single-byte text forms a valid UTF-8 sequence only by rare accident.
_STRAY_BYTES_PER_UTF8_CHARACTER = 4
_STRAY = re.compile("[\udc80-\udcff]+")
_NEWLINES = re.compile(r"\r\n?")
# charset_normalizer cannot tell single-byte code pages apart on short or plain Latin text
# and then guesses freely (cp1125, cp1257, ...); Windows-1252 is by far the likeliest there.
_WESTERN = "cp1252"
_CLOSE_CALL = 0.1


def binary_data() -> DocumentRejected:
    return DocumentRejected(
        "The file holds binary data, not text, so there is no text to read from it. "
        f"Supported types are {SUPPORTED_DESCRIPTION}."
    )


def decode_text(data: bytes, declared: str | None = None, *, partial: bool = False) -> str:
    """Decode bytes to text with `\\n` line breaks, or reject them as binary data.

    `declared` is an encoding the document names itself (an HTML `<meta charset>`); `partial`
    says `data` is only the head of the file, so its last character may be cut short.
    """
    text = _decode(data, declared, partial)
    if text is None or len(_CONTROL.findall(text)) > _MAX_CONTROL_SHARE * len(text):
        raise binary_data()
    return _NEWLINES.sub("\n", text.replace("\x00", ""))


def extract_text(path: Path) -> Generator[Page, None, None]:
    yield Page(number=1, text=decode_text(path.read_bytes()))


def _decode(data: bytes, declared: str | None, partial: bool) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            # A byte-order mark is decisive: a stray bad byte later should not lose the text.
            return _decode_as(data[len(bom):], encoding, partial, errors="replace")
    if data.count(b"\x00") > _MAX_NUL_SHARE * len(data):
        encoding = _utf16_without_bom(data)
        return _decode_as(data, encoding, partial, errors="replace") if encoding else None
    # Valid UTF-8 wins even over a declared charset: pages saved as UTF-8 under a stale
    # latin-1 <meta> are common, while text in another encoding is almost never valid UTF-8.
    for encoding in ("utf-8", declared):
        if encoding and (text := _decode_as(data, encoding, partial)) is not None:
            return text
    return _mostly_utf8(data, partial) or _guess(data)


def _utf16_without_bom(data: bytes) -> str | None:
    pairs = max(1, len(data) // 2)
    first, second = data[0::2].count(0) / pairs, data[1::2].count(0) / pairs
    if second > _UTF16_HIGH_NUL_SHARE and first < _UTF16_LOW_NUL_SHARE:
        return "utf-16-le"
    if first > _UTF16_HIGH_NUL_SHARE and second < _UTF16_LOW_NUL_SHARE:
        return "utf-16-be"
    return None


def _mostly_utf8(data: bytes, partial: bool) -> str | None:
    """UTF-8 text with stray single-byte characters, those read as Windows-1252; None if not that."""
    text = _decode_as(data, "utf-8", partial, errors="surrogateescape")
    if text is None:
        return None
    stray = sum(len(run) for run in _STRAY.findall(text))
    multibyte = len(text) - len(text.encode("ascii", "ignore")) - stray
    if multibyte == 0 or stray > _STRAY_BYTES_PER_UTF8_CHARACTER * multibyte:
        return None
    return _STRAY.sub(lambda run: run.group().encode("utf-8", "surrogateescape").decode(_WESTERN, "replace"), text)


def _decode_as(data: bytes, encoding: str, partial: bool, errors: str = "strict") -> str | None:
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors)
        return decoder.decode(data, final=not partial)
    except (LookupError, UnicodeDecodeError):
        return None


def _guess(data: bytes) -> str | None:
    matches = list(charset_normalizer.from_bytes(data))
    if matches:
        best = matches[0]
        top_coherence = max(match.coherence for match in matches)
        western = [
            match
            for match in matches
            if match.encoding == _WESTERN
            and match.chaos <= best.chaos + _CLOSE_CALL
            and match.coherence >= top_coherence - _CLOSE_CALL
        ]
        return str(western[0] if western else best)
    for encoding in (_WESTERN, "latin-1"):
        if (text := _decode_as(data, encoding, partial=False)) is not None:
            return text
    return None
