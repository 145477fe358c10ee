"""Receiving a multipart upload: the file part streams to a temp file, and size limits hold while it streams."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartState, parse_options_header
from starlette.concurrency import run_in_threadpool

FILE_FIELD = "file"
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 16
# Room for the small form fields and part headers on top of the file itself.
FORM_OVERHEAD_BYTES = MAX_PARTS * (MAX_FIELD_BYTES + 1024)


class UploadTooLarge(Exception):
    pass


class MalformedUpload(ValueError):
    pass


@dataclass
class ReceivedUpload:
    """A parsed upload; the caller removes `path` when done with it."""

    path: Path
    file_name: str | None = None
    has_file: bool = False
    size_bytes: int = 0
    fields: dict[str, str] = field(default_factory=dict)


def boundary_of(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise MalformedUpload("the body must be multipart/form-data with a boundary")
    return options[b"boundary"]


async def receive_upload(stream: AsyncIterator[bytes], boundary: bytes, folder: Path,
                         max_file_bytes: int) -> ReceivedUpload:
    """Parse the body into a temp file in `folder` (removed again if anything goes wrong)."""
    handle, name = await run_in_threadpool(_temp_file, folder)
    collector = _PartCollector(ReceivedUpload(Path(name)), max_file_bytes)
    try:
        with os.fdopen(handle, "wb") as sink:
            await _feed(stream, MultipartParser(boundary, collector.callbacks()), collector, sink)
    except BaseException as error:
        # Not through the thread pool: this also runs when the request is being cancelled.
        Path(name).unlink(missing_ok=True)
        if isinstance(error, FormParserError):
            # The parser's own words ("Maximum header size exceeded") say what to fix.
            raise MalformedUpload(f"the multipart body is malformed: {error}") from error
        raise
    return collector.upload


def _temp_file(folder: Path) -> tuple[int, str]:
    folder.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=folder, prefix=".upload-")


async def _feed(stream: AsyncIterator[bytes], parser: MultipartParser, collector: "_PartCollector", sink) -> None:
    limit, received = collector.max_file_bytes + FORM_OVERHEAD_BYTES, 0
    async for block in stream:
        # Bytes outside any part (preamble, epilogue) are skipped by the parser: bound them too.
        received += len(block)
        if received > limit:
            raise UploadTooLarge(f"the request body is larger than the limit of {collector.max_file_bytes} bytes")
        parser.write(block)
        # Disk writes leave the event loop, as Starlette's own form parser does.
        await run_in_threadpool(collector.flush, sink)
    parser.finalize()
    # python-multipart accepts a body that just stops; a body cut off on the way must not pass as complete.
    if parser.state != MultipartState.END:
        raise MalformedUpload("the multipart body ends without its closing boundary: it was cut off on the way")


class _PartCollector:
    """python-multipart callbacks: the `file` part's bytes are queued for disk, other fields kept in memory."""

    def __init__(self, upload: ReceivedUpload, max_file_bytes: int):
        self.upload = upload
        self.max_file_bytes = max_file_bytes
        self.pending: list[bytes] = []
        self.parts = 0
        self.header_name = self.header_value = self.disposition = b""
        self.name: str | None = None
        self.value = bytearray()

    def callbacks(self) -> dict:
        return {"on_part_begin": self.begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value_data, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.data,
                "on_part_end": self.end}

    def begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise MalformedUpload(f"the form has more than {MAX_PARTS} parts")
        self.disposition, self.name, self.value = b"", None, bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]
        self._bound_header()

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]
        self._bound_header()

    def _bound_header(self) -> None:
        if len(self.header_name) + len(self.header_value) > MAX_FIELD_BYTES:
            raise MalformedUpload("a part header is too long")

    def header_end(self) -> None:
        if self.header_name.strip().lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise MalformedUpload('every part needs a Content-Disposition header with a "name"')
        self.name = options[b"name"].decode("utf-8", "replace")
        if self.name == FILE_FIELD:
            if self.upload.has_file:
                raise MalformedUpload(f"send exactly one `{FILE_FIELD}` part")
            self.upload.has_file = True
            raw_name = options.get(b"filename")
            self.upload.file_name = None if raw_name is None else raw_name.decode("utf-8", "replace")

    def data(self, data: bytes, start: int, end: int) -> None:
        block = data[start:end]
        if self.name == FILE_FIELD:
            self.upload.size_bytes += len(block)
            if self.upload.size_bytes > self.max_file_bytes:
                raise UploadTooLarge(f"the file is larger than the limit of {self.max_file_bytes} bytes")
            self.pending.append(block)
        else:
            self.value += block
            if len(self.value) > MAX_FIELD_BYTES:
                raise UploadTooLarge(f"the form field `{self.name}` is larger than {MAX_FIELD_BYTES} bytes")

    def end(self) -> None:
        if self.name != FILE_FIELD:
            self.upload.fields[self.name] = self.value.decode("utf-8", "replace")

    def flush(self, sink) -> None:
        blocks, self.pending = self.pending, []
        sink.writelines(blocks)
