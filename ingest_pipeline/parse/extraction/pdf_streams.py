"""A guard against PDF decompression bombs: inflate the streams pdfium would inflate, counting, before it does.

pdfium holds a page's whole decoded content in memory, so a few hundred kilobytes of deflated
drawing commands can cost gigabytes. Images are skipped: text extraction never decodes them.
"""

from __future__ import annotations

import mmap
import re
import zlib
from pathlib import Path

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.parse.extraction.limits import MEGABYTE, ExtractionLimits

_STREAM = re.compile(rb"\bstream\r?\n")
# A stream's dictionary sits between its "N G obj" and its "stream" keyword, within a few kilobytes.
_DICTIONARY_WINDOW = 4096
_INPUT_BLOCK = 64 * 1024
_OUTPUT_BLOCK = 4 * MEGABYTE
# A small stream is harmless whatever its ratio; the ratio guards the larger ones.
_RATIO_CHECK_FLOOR = 10 * MEGABYTE


def check_streams(path: Path, limits: ExtractionLimits) -> None:
    """Reject the PDF if any Flate stream other than an image inflates past the limits."""
    if path.stat().st_size == 0:
        return  # mmap refuses empty files; pdfium rejects them anyway
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for match in _STREAM.finditer(data):
            dictionary = data[max(0, match.start() - _DICTIONARY_WINDOW):match.start()]
            dictionary = dictionary[dictionary.rfind(b"obj"):]
            if b"/FlateDecode" in dictionary and b"/Image" not in dictionary:
                _check_inflation(data, match.end(), limits)


def _check_inflation(data: mmap.mmap, position: int, limits: ExtractionLimits) -> None:
    inflater = zlib.decompressobj()
    inflated = consumed = 0
    pending = b""
    while not inflater.eof:
        if not pending:
            pending = data[position:position + _INPUT_BLOCK]
            position += len(pending)
            consumed += len(pending)
            if not pending:
                return
        try:
            inflated += len(inflater.decompress(pending, _OUTPUT_BLOCK))
        except zlib.error:
            return  # not plain deflate (encrypted, or another filter first): pdfium will judge it
        pending = inflater.unconsumed_tail
        _judge(inflated, consumed - len(pending) - len(inflater.unused_data), limits)


def _judge(inflated: int, compressed: int, limits: ExtractionLimits) -> None:
    if inflated > limits.max_uncompressed_bytes:
        raise DocumentRejected(
            f"The PDF holds a compressed stream that would expand to more than "
            f"{limits.max_uncompressed_bytes // MEGABYTE:,} MB, the limit for one stream, so it is refused as unsafe."
        )
    if inflated > _RATIO_CHECK_FLOOR and inflated / max(1, compressed) > limits.max_compression_ratio:
        raise DocumentRejected(
            f"The PDF holds a stream compressed more than {inflated // max(1, compressed):,} to 1, far beyond "
            f"the {limits.max_compression_ratio:,.0f} to 1 of real documents (a decompression bomb), "
            "so it is refused as unsafe."
        )
