"""A guard against PDF decompression bombs: inflate the streams pdfium would inflate, counting, before it does.

pdfium holds a page's whole decoded content in memory, so a few hundred kilobytes of deflated drawing
commands can cost gigabytes. Every stream is found however its dictionary is written (`pdf_objects`),
plus any `stream` keyword no readable object header claims; each whose first filter is Flate is inflated
to its end and counted: per stream, per page (the content streams of each page object outside object
streams) and for the whole document. Images are skipped only when their dictionary says /Subtype /Image
and no page names them as its content: text extraction never decodes an image.

This is the cheap first line, not the guarantee: a stream Flate-compressed behind another filter, or a
page declared inside an object stream, goes uncounted, and what pdfium builds from small content can
still be large. The kernel's memory and CPU limits on the extracting process (`parse.sandbox`) bound that.
"""

from __future__ import annotations

import mmap
import zlib
from dataclasses import dataclass
from pathlib import Path

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.parse.extraction.limits import MEGABYTE, ExtractionLimits
from ingest_pipeline.parse.extraction.pdf_objects import Objects, read_objects, stream_keywords

_INPUT_BLOCK = 64 * 1024
# Small, because a decompress call that meets damaged data raises and drops what it inflated: an attacker
# could end many streams that way, each hiding at most this much from the count.
_OUTPUT_BLOCK = 256 * 1024
# The deflate data after its two-byte zlib header, inflated raw: a wrong checksum at the end (pdfium
# keeps what it inflated) must not hide the last block from the count.
_ZLIB_HEADER = 2
# A small stream is harmless whatever its ratio; the ratio guards the larger ones.
_RATIO_CHECK_FLOOR = 10 * MEGABYTE
_UNSAFE = "so it is refused as unsafe"


def check_streams(path: Path, limits: ExtractionLimits) -> None:
    """Reject the PDF if its Flate streams other than images inflate past the limits."""
    if path.stat().st_size == 0:
        return  # mmap refuses empty files; pdfium rejects them anyway
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        objects = read_objects(data)
        total = _Total(limits)
        inflated = {stream.number: _inflated(data, stream.start, limits, total)
                    for stream in _decoded_streams(objects)}
        for start in set(stream_keywords(data)) - {stream.start for stream in objects.streams}:
            _inflated(data, start, limits, total)
        for contents in objects.page_contents:
            _judge_page(sum(inflated.get(number, 0) for number in set(contents)), limits)


def _decoded_streams(objects: Objects):
    contents = {number for page in objects.page_contents for number in page}
    return [stream for stream in objects.streams
            if stream.flate_first and (not stream.image or stream.number in contents)]


@dataclass
class _Total:
    """What the document's streams inflated to so far, rejected as soon as it passes the limit."""

    limits: ExtractionLimits
    inflated: int = 0

    def add(self, size: int) -> None:
        self.inflated += size
        if self.inflated > self.limits.max_document_uncompressed_bytes:
            raise DocumentRejected(
                f"The PDF holds compressed streams that would expand to more than "
                f"{self.limits.max_document_uncompressed_bytes // MEGABYTE:,} MB together, the limit for one "
                f"document, {_UNSAFE}."
            )


def _inflated(data: mmap.mmap, position: int, limits: ExtractionLimits, total: _Total) -> int:
    """What the deflated data at `position` inflates to (0 if it is not zlib data: pdfium judges that)."""
    header = data[position:position + _ZLIB_HEADER]
    if len(header) < _ZLIB_HEADER or header[0] & 0x0F != 8 or int.from_bytes(header, "big") % 31:
        return 0
    position += _ZLIB_HEADER
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    inflated = consumed = 0
    pending = b""
    while not inflater.eof:
        if not pending:
            pending = data[position:position + _INPUT_BLOCK]
            position += len(pending)
            consumed += len(pending)
            if not pending:
                break
        try:
            size = len(inflater.decompress(pending, _OUTPUT_BLOCK))
        except zlib.error:
            break  # not plain deflate (encrypted, say), or damaged here: what came before still counts
        inflated += size
        total.add(size)
        pending = inflater.unconsumed_tail
        _judge(inflated, consumed - len(pending) - len(inflater.unused_data), limits)
    return inflated


def _judge(inflated: int, compressed: int, limits: ExtractionLimits) -> None:
    if inflated > limits.max_uncompressed_bytes:
        raise DocumentRejected(
            f"The PDF holds a compressed stream that would expand to more than "
            f"{limits.max_uncompressed_bytes // MEGABYTE:,} MB, the limit for one stream, {_UNSAFE}."
        )
    if inflated > _RATIO_CHECK_FLOOR and inflated / max(1, compressed) > limits.max_compression_ratio:
        raise DocumentRejected(
            f"The PDF holds a stream compressed more than {inflated // max(1, compressed):,} to 1, far beyond "
            f"the {limits.max_compression_ratio:,.0f} to 1 of real documents (a decompression bomb), {_UNSAFE}."
        )


def _judge_page(inflated: int, limits: ExtractionLimits) -> None:
    if inflated > limits.max_uncompressed_bytes:
        raise DocumentRejected(
            f"A page of the PDF has content streams that would expand to more than "
            f"{limits.max_uncompressed_bytes // MEGABYTE:,} MB together, the limit for one page, {_UNSAFE}."
        )
