"""The parent's side of one sandboxed document: its worker's answer read frame by frame within the wall clock,
and the worker's death explained as the limit it exceeded."""

from __future__ import annotations

import os
import resource
import select
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction.limits import (
    MAX_PARSE_SECONDS,
    MEMORY_SETTING,
    PARSE_CPU_SECONDS,
    PARSE_MEMORY_MB,
    too_much_cpu,
    too_much_memory,
    too_slow,
)
from ingest_pipeline.parse.sandbox_worker import DONE, FRAME, NUMBER, OUT_OF_MEMORY, PAGE, REJECTED

_READ_BLOCK = 1 << 20
# Without a pidfd, how often the reader looks whether a silent worker has died.
_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class SandboxLimits:
    """What reading one document may take, whatever the extraction code checks itself."""

    memory_mb: int = PARSE_MEMORY_MB
    cpu_seconds: int = PARSE_CPU_SECONDS
    wall_seconds: float = MAX_PARSE_SECONDS


class ExtractionFailed(RuntimeError):
    """The worker failed for a reason that is not the document's (its stored file vanished, a bug): retried."""


@dataclass
class Worker:
    pid: int
    requests: int
    replies: int
    pidfd: int | None
    documents: int = 0
    # Its wait status and resource usage, once it ended and was reaped (its pid may then be reused).
    ended: tuple[int, resource.struct_rusage] | None = None


def reap(worker: Worker, options: int) -> tuple[int, resource.struct_rusage] | None:
    if worker.ended is None:
        pid, status, usage = os.wait4(worker.pid, options)
        if pid:
            worker.ended = status, usage
    return worker.ended


class Replies:
    """The frames of one document's answer, read within the wall clock, and a worker's death explained."""

    def __init__(self, worker: Worker, sandbox: SandboxLimits):
        self.worker, self.sandbox = worker, sandbox
        self.deadline = time.monotonic() + sandbox.wall_seconds
        self.buffer = bytearray()
        self.answered = False  # a whole answer came: the worker may serve another document
        os.set_blocking(worker.replies, False)
        self.poller = select.poll()
        for fd in (worker.replies, worker.pidfd):
            if fd is not None:
                self.poller.register(fd, select.POLLIN)

    def pages(self) -> Iterator[Page]:
        while True:
            kind, payload = self._frame()
            if kind == PAGE:
                (number,) = NUMBER.unpack_from(payload)
                yield Page(number, payload[NUMBER.size:].decode("utf-8", "surrogatepass"))
                continue
            self.answered = kind in (DONE, REJECTED)
            if kind == DONE:
                return
            if kind == REJECTED:
                raise DocumentRejected(payload.decode("utf-8"))
            if kind == OUT_OF_MEMORY:
                raise too_much_memory(self.sandbox.memory_mb)
            raise ExtractionFailed(f"extracting the document failed: {payload.decode('utf-8')}")

    def _frame(self) -> tuple[bytes, bytes]:
        kind, length = FRAME.unpack(self._take(FRAME.size))
        return kind, self._take(length)

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        taken = bytes(self.buffer[:size])
        del self.buffer[:size]
        return taken

    def _fill(self) -> None:
        while True:
            data = self._read()
            if data:
                self.buffer += data
                return
            # At its end, or empty: the worker may have died.
            if data == b"" or reap(self.worker, os.WNOHANG):
                data = self._read()  # what it wrote just before
                if not data:
                    raise self._why_it_died()
                self.buffer += data
                return
            self._wait()

    def _read(self) -> bytes | None:
        try:
            return os.read(self.worker.replies, _READ_BLOCK)
        except BlockingIOError:
            return None

    def _wait(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise too_slow(self.sandbox.wall_seconds)  # the worker is then ended
        self.poller.poll(1000 * (remaining if self.worker.pidfd is not None else min(remaining, _POLL_SECONDS)))

    def _why_it_died(self) -> Exception:
        status, _ = reap(self.worker, 0)
        if not os.WIFSIGNALED(status):
            return ExtractionFailed("the extraction worker ended without an answer")
        if os.WTERMSIG(status) == signal.SIGXCPU:
            return too_much_cpu(self.sandbox.cpu_seconds)
        if os.WTERMSIG(status) == signal.SIGKILL:  # the kernel's OOM killer
            return too_much_memory(self.sandbox.memory_mb)
        # pdfium aborts when an allocation fails.
        return DocumentRejected(
            f"Reading the document stopped abnormally ({signal.Signals(os.WTERMSIG(status)).name}): it needed more "
            f"than {self.sandbox.memory_mb:,} MB of memory, the limit per document ({MEMORY_SETTING}), or the file "
            "is damaged in a way that crashes the reader. Try exporting it again from the program that made it."
        )


def pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when the worker ends (Linux 5.3 on), so a death wakes the reader."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
