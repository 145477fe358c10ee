"""The child's side of the extraction sandbox: a forked process that reads one document per request under the
kernel's memory and CPU-time limits, and writes its pages back as frames.

Fork safety: the process it was forked from runs Dagster's threads. The child only reads requests, extracts
and writes to its pipe, and ends with `os._exit` (no atexit handler, no inherited buffer flushed, no inherited
connection touched). It takes no lock another thread could have held at the fork except pdfium's, which
only these children take.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import resource
import select
import struct
from pathlib import Path
from typing import NoReturn

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.parse.extraction.extract import extract_pages
from ingest_pipeline.parse.extraction.limits import MEGABYTE, ExtractionLimits

# A frame: its kind, then the length of its payload. A page's payload is its number, then its text.
FRAME, NUMBER = struct.Struct("!cQ"), struct.Struct("!I")
PAGE, DONE, REJECTED, OUT_OF_MEMORY, FAILED = b"P", b"D", b"R", b"M", b"F"
# How often an idle child looks whether the process it serves is gone (then it ends).
_ORPHAN_CHECK_SECONDS = 1.0


def serve(requests: int, replies: int, parent: int) -> NoReturn:
    """Answer requests `(path, media_type, ExtractionLimits, memory_mb, cpu_seconds)` until the parent is gone."""
    status = 1
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # pdfium aborts when an allocation fails under the memory limit: an expected end, which the
        # parent reports with the limit's name, not a stack dump written over the parent's stderr.
        faulthandler.disable()
        while (request := _next_request(requests, parent)) is not None:
            path, media_type, limits, memory_mb, cpu_seconds = request
            _confine(memory_mb, cpu_seconds)
            _extract_into(replies, Path(path), media_type, limits)
        status = 0
    finally:
        os._exit(status)


def _next_request(fd: int, parent: int):
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not poller.poll(_ORPHAN_CHECK_SECONDS * 1000):
        if os.getppid() != parent:
            return None
    header = _read_exactly(fd, FRAME.size)
    if header is None:
        return None
    _, length = FRAME.unpack(header)
    payload = _read_exactly(fd, length)
    # From the process that forked this one: trusted, unlike the documents.
    return None if payload is None else pickle.loads(payload)


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        part = os.read(fd, size - len(data))
        if not part:
            return None
        data += part
    return data


def _confine(memory_mb: int, cpu_seconds: int) -> None:
    """Soft limits only, reset for each document (a hard limit once lowered cannot be raised again)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    _soft(resource.RLIMIT_CPU, int(used.ru_utime + used.ru_stime) + cpu_seconds)
    # The child's address space holds what it inherited: the limit is what a document may add to it.
    with open("/proc/self/statm", "rb") as statm:
        in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _soft(resource.RLIMIT_AS, in_use + memory_mb * MEGABYTE)


def _soft(which: int, limit: int) -> None:
    _, hard = resource.getrlimit(which)
    resource.setrlimit(which, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def _extract_into(fd: int, path: Path, media_type: str, limits: ExtractionLimits) -> None:
    try:
        for page in extract_pages(path, media_type, limits):
            send(fd, PAGE, NUMBER.pack(page.number) + page.text.encode("utf-8", "surrogatepass"))
        send(fd, DONE)
    except DocumentRejected as rejected:
        send(fd, REJECTED, rejected.reason.encode("utf-8", "replace"))
    except MemoryError:
        send(fd, OUT_OF_MEMORY)
        os._exit(0)  # what a failed allocation left behind is not worth reusing
    except Exception as error:
        send(fd, FAILED, f"{type(error).__name__}: {error}".encode("utf-8", "replace"))


def send(fd: int, kind: bytes, payload: bytes = b"") -> None:
    data = memoryview(FRAME.pack(kind, len(payload)) + payload)
    while data:
        data = data[os.write(fd, data):]
