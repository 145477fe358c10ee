"""Extraction of one document in a forked child that the kernel holds to memory and CPU-time limits, and this
process to a wall clock: a document that exceeds one fails alone, with a reason naming the limit.

A fresh child per document rather than a pool of long-lived workers: nothing one document did is left for
the next, and a fork costs about 4 ms here (`python3 -m benchmarks.parse_sandbox`). Pages come back through
a pipe as they are read, so a long document is never held twice.

Fork safety: the parent runs Dagster's threads. The child only extracts and writes to its pipe, and ends
with `os._exit` (no atexit handler, no inherited buffer flushed, no inherited connection touched). It takes
no lock another thread could have held at the fork except pdfium's, which only children take here.

Linux only (`SANDBOXED`): macOS does not enforce RLIMIT_AS and its frameworks are not fork-safe, so there
extraction runs in the caller's process, bounded only by the limits the extraction code checks itself.
"""

from __future__ import annotations

import ctypes
import os
import resource
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction.extract import extract_pages
from ingest_pipeline.parse.extraction.limits import (
    MAX_PARSE_SECONDS,
    MEGABYTE,
    MEMORY_SETTING,
    PARSE_CPU_SECONDS,
    PARSE_MEMORY_MB,
    ExtractionLimits,
    too_much_cpu,
    too_much_memory,
    too_slow,
)

SANDBOXED = sys.platform.startswith("linux")
# A frame: its kind, then the length of its payload. A page's payload is its number, then its text.
_FRAME, _NUMBER = struct.Struct("!cQ"), struct.Struct("!I")
_PAGE, _DONE, _REJECTED, _OUT_OF_MEMORY, _FAILED = b"P", b"D", b"R", b"M", b"F"
_READ_BLOCK = 1 << 20
# Without a pidfd, how often the parent looks whether a silent child has died.
_POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1
# Resolved before any fork: dlopen in a child could wait forever on a loader lock another thread held.
_LIBC = ctypes.CDLL(None, use_errno=True) if SANDBOXED else None
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if SANDBOXED else 0
# While this process holds a pipe's write end, no other sandbox may fork and inherit it (and hold it open).
_FORKING = threading.Lock()


@dataclass(frozen=True)
class SandboxLimits:
    """What reading one document may take, whatever the extraction code checks itself."""

    memory_mb: int = PARSE_MEMORY_MB
    cpu_seconds: int = PARSE_CPU_SECONDS
    wall_seconds: float = MAX_PARSE_SECONDS


class ExtractionFailed(RuntimeError):
    """The child failed for a reason that is not the document's (its stored file vanished, a bug): retried."""


def sandboxed_pages(path: Path, media_type: str, limits: ExtractionLimits,
                    sandbox: SandboxLimits = SandboxLimits()) -> Iterator[Page]:
    """`extract_pages` in a child process under `sandbox`'s limits; one exceeded raises DocumentRejected naming it.

    The child starts at the first page asked for, and is killed if the pages are abandoned."""
    with _FORKING:
        read_end, write_end = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            _child(write_end, parent, path, media_type, limits, sandbox)
        os.close(write_end)
    child = _Child(pid, read_end, sandbox)
    try:
        yield from child.pages()
    finally:
        child.end()


def _child(write_end: int, parent: int, path: Path, media_type: str, limits: ExtractionLimits,
           sandbox: SandboxLimits) -> NoReturn:
    status = 1
    try:
        _confine(parent, sandbox)
        _extract_into(write_end, path, media_type, limits)
        status = 0
    finally:
        os._exit(status)


def _confine(parent: int, sandbox: SandboxLimits) -> None:
    # Killed with the thread that forked it, so an abandoned child never outlives the run.
    if _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
        os._exit(1)
    _lower(resource.RLIMIT_CORE, 0, 0)
    # The soft limit sends SIGXCPU; the hard one, a second later, SIGKILL, should that be caught.
    _lower(resource.RLIMIT_CPU, sandbox.cpu_seconds, sandbox.cpu_seconds + 1)
    # A fork inherits the parent's address space: the limit is what the child may add to it.
    with open("/proc/self/statm", "rb") as statm:
        in_use = int(statm.read().split()[0]) * _PAGE_BYTES
    allowed = in_use + sandbox.memory_mb * MEGABYTE
    _lower(resource.RLIMIT_AS, allowed, allowed)


def _lower(which: int, soft: int, hard: int) -> None:
    _, inherited = resource.getrlimit(which)
    if inherited != resource.RLIM_INFINITY:
        soft, hard = min(soft, inherited), min(hard, inherited)
    resource.setrlimit(which, (soft, hard))


def _extract_into(fd: int, path: Path, media_type: str, limits: ExtractionLimits) -> None:
    try:
        for page in extract_pages(path, media_type, limits):
            _send(fd, _PAGE, _NUMBER.pack(page.number) + page.text.encode("utf-8", "surrogatepass"))
        _send(fd, _DONE)
    except DocumentRejected as rejected:
        _send(fd, _REJECTED, rejected.reason.encode("utf-8", "replace"))
    except MemoryError:
        _send(fd, _OUT_OF_MEMORY)
    except Exception as error:
        _send(fd, _FAILED, f"{type(error).__name__}: {error}".encode("utf-8", "replace"))


def _send(fd: int, kind: bytes, payload: bytes = b"") -> None:
    data = memoryview(_FRAME.pack(kind, len(payload)) + payload)
    while data:
        data = data[os.write(fd, data):]


class _Child:
    """The parent's side: frames read from the pipe within the wall clock, and the child's end explained."""

    def __init__(self, pid: int, fd: int, sandbox: SandboxLimits):
        self.pid, self.fd, self.sandbox = pid, fd, sandbox
        self.deadline = time.monotonic() + sandbox.wall_seconds
        self.buffer = bytearray()
        self.ended: tuple[int, resource.struct_rusage] | None = None
        # The child starts with this process's pages resident: what it needed is its peak beyond them.
        self.resident_at_fork = _resident_bytes()
        os.set_blocking(fd, False)
        self.poller = select.poll()
        self.poller.register(fd, select.POLLIN)
        self.pidfd = _pidfd(pid)
        if self.pidfd is not None:
            self.poller.register(self.pidfd, select.POLLIN)

    def pages(self) -> Iterator[Page]:
        while True:
            kind, payload = self._frame()
            if kind == _PAGE:
                (number,) = _NUMBER.unpack_from(payload)
                yield Page(number, payload[_NUMBER.size:].decode("utf-8", "surrogatepass"))
            elif kind == _DONE:
                return
            elif kind == _REJECTED:
                raise DocumentRejected(payload.decode("utf-8"))
            elif kind == _OUT_OF_MEMORY:
                raise too_much_memory(self.sandbox.memory_mb)
            else:
                raise ExtractionFailed(f"extracting the document failed: {payload.decode('utf-8')}")

    def _frame(self) -> tuple[bytes, bytes]:
        kind, length = _FRAME.unpack(self._take(_FRAME.size))
        return kind, self._take(length)

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        taken = bytes(self.buffer[:size])
        del self.buffer[:size]
        return taken

    def _fill(self) -> None:
        while True:
            try:
                data = os.read(self.fd, _READ_BLOCK)
            except BlockingIOError:
                data = None
            if data:
                self.buffer += data
                return
            # Empty, or at its end: the child may have died (another process can hold the write end open).
            if data == b"" or self._reap(os.WNOHANG):
                if not self._drain():
                    raise self._why_it_died()
                return
            self._wait_for_news()

    def _drain(self) -> bool:
        try:
            data = os.read(self.fd, _READ_BLOCK)
        except BlockingIOError:
            return False
        self.buffer += data
        return bool(data)

    def _wait_for_news(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise too_slow(self.sandbox.wall_seconds)  # `end` kills the child
        wait = remaining if self.pidfd is not None else min(remaining, _POLL_SECONDS)
        self.poller.poll(wait * 1000)

    def _why_it_died(self) -> Exception:
        status, usage = self._reap(0)
        if not os.WIFSIGNALED(status):
            return ExtractionFailed(f"the extraction process ended (status {os.waitstatus_to_exitcode(status)}) "
                                    "without an answer")
        if os.WTERMSIG(status) == signal.SIGXCPU or usage.ru_utime + usage.ru_stime >= self.sandbox.cpu_seconds:
            return too_much_cpu(self.sandbox.cpu_seconds)
        # pdfium aborts when an allocation fails, and the kernel's OOM killer sends SIGKILL.
        needed = usage.ru_maxrss * 1024 - self.resident_at_fork
        if os.WTERMSIG(status) == signal.SIGKILL or needed >= self.sandbox.memory_mb * MEGABYTE // 2:
            return too_much_memory(self.sandbox.memory_mb)
        return DocumentRejected(
            f"Reading the document stopped abnormally ({signal.Signals(os.WTERMSIG(status)).name}): it needed more "
            f"than {self.sandbox.memory_mb:,} MB of memory, the limit per document ({MEMORY_SETTING}), or the file "
            "is damaged in a way that crashes the reader. Try exporting it again from the program that made it."
        )

    def _reap(self, options: int) -> tuple[int, resource.struct_rusage] | None:
        if self.ended is None:
            pid, status, usage = os.wait4(self.pid, options)
            if pid:
                self.ended = status, usage
        return self.ended

    def end(self) -> None:
        if self._reap(os.WNOHANG) is None:
            os.kill(self.pid, signal.SIGKILL)
            self._reap(0)
        os.close(self.fd)
        if self.pidfd is not None:
            os.close(self.pidfd)


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when the child ends (Linux 5.3 on), so a death wakes the parent."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _resident_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE_BYTES
