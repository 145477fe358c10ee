"""Extraction of each document in a forked worker process that the kernel holds to memory and CPU-time limits,
and this process to a wall clock: a document that exceeds one fails alone, with a reason naming the limit,
and its worker is replaced.

Workers persist between documents (the limits are reset for each), as measured with Dagster loaded
(`python3 -m benchmarks.parse_sandbox`, 300 documents): a fresh fork per document added 4.7 ms per document,
11% of the cold benchmark's 12.7 s; a waiting worker adds nothing measurable (the corpus reads 0.3-0.5 s
faster than in the caller, as workers run beside its GIL). A worker serves one document at a time; one that exceeded a limit,
failed unexpectedly or was abandoned mid-document is killed, never reused. Pages come back through a pipe
as they are read, so a long document is never held twice. The child's side is `parse.sandbox_worker`.

Linux only (`SANDBOXED`): macOS does not enforce RLIMIT_AS and its frameworks are not fork-safe, so there
extraction runs in the caller's process, bounded only by the limits the extraction code checks itself.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction.limits import ExtractionLimits
from ingest_pipeline.parse.sandbox_replies import ExtractionFailed, Replies, SandboxLimits, Worker, pidfd, reap
from ingest_pipeline.parse.sandbox_worker import send, serve

__all__ = ["SANDBOXED", "ExtractionFailed", "SandboxLimits", "sandboxed_pages"]

SANDBOXED = sys.platform.startswith("linux")
# Workers kept waiting for the next document, and documents one worker reads before it is renewed
# (so what Python's allocator holds on to after large documents is given back).
_IDLE_AT_MOST = 4
_DOCUMENTS_PER_WORKER = 200


# This process's workers: every one (so a fork closes their pipes in the child) and those waiting.
_live: dict[int, Worker] = {}
_idle: list[Worker] = []
_registry = threading.Lock()


def sandboxed_pages(path: Path, media_type: str, limits: ExtractionLimits,
                    sandbox: SandboxLimits = SandboxLimits()) -> Iterator[Page]:
    """`extract_pages` in a worker under `sandbox`'s limits; one exceeded raises DocumentRejected naming it.

    The work starts at the first page asked for; abandoned pages end the worker."""
    worker = _request(str(path), media_type, limits, sandbox)
    replies = Replies(worker, sandbox)
    try:
        yield from replies.pages()
    finally:
        if replies.answered:
            _check_in(worker)
        else:
            _end(worker)


def _request(path: str, media_type: str, limits: ExtractionLimits, sandbox: SandboxLimits) -> Worker:
    request = pickle.dumps((path, media_type, limits, sandbox.memory_mb, sandbox.cpu_seconds))
    worker = _check_out()
    try:
        send(worker.requests, b"Q", request)
    except BrokenPipeError:  # it died waiting (killed from outside): a new one
        _end(worker)
        worker = _start()
        send(worker.requests, b"Q", request)
    return worker


def _check_out() -> Worker:
    with _registry:
        worker = _idle.pop() if _idle else None
    return worker or _start()


def _check_in(worker: Worker) -> None:
    worker.documents += 1
    with _registry:
        if worker.documents < _DOCUMENTS_PER_WORKER and len(_idle) < _IDLE_AT_MOST:
            _idle.append(worker)
            return
    _end(worker)


def _start() -> Worker:
    with _registry:
        request_out, request_in = os.pipe()
        reply_out, reply_in = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(request_in)
            os.close(reply_out)
            serve(request_out, reply_in, parent)
        os.close(request_out)
        os.close(reply_in)
        worker = _live[pid] = Worker(pid, request_in, reply_out, pidfd(pid))
    return worker


def _end(worker: Worker) -> None:
    if reap(worker, os.WNOHANG) is None:
        os.kill(worker.pid, signal.SIGKILL)
        reap(worker, 0)
    with _registry:
        _live.pop(worker.pid, None)
    _close(worker)


def _close(worker: Worker) -> None:
    for fd in (worker.requests, worker.replies, worker.pidfd):
        if fd is not None:
            os.close(fd)


def _forget_inherited_workers() -> None:
    """In any forked child: the workers are the parent's. Their pipes are closed here, so a worker's end of
    file is not held open by another process, and the child starts its own workers."""
    global _registry
    for worker in _live.values():
        _close(worker)
    _live.clear()
    _idle.clear()
    _registry = threading.Lock()  # another thread may have held it at the fork


if SANDBOXED:
    os.register_at_fork(after_in_child=_forget_inherited_workers)

