"""Run a function on many items in worker processes forked from this one, which inherit the function instead of receiving it."""

from __future__ import annotations

import ctypes
import itertools
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Functions the workers run, by token. Registered before the pool forks, so a worker finds its
# function in the memory it inherited: closures over resources are never pickled, only items and results.
_functions: dict[int, Callable] = {}
_tokens = itertools.count()
_registry_lock = threading.Lock()
# prctl(2): ask the kernel to send this signal to the worker when its parent dies.
_PR_SET_PDEATHSIG = 1


def can_fork() -> bool:
    """Forking a process that has loaded native libraries is sound on Linux; macOS's system
    frameworks are not fork-safe, and Windows has no fork."""
    return sys.platform.startswith("linux")


def cores() -> int:
    """The cores this process may run on (a container's cpuset, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class WorkerDied(Exception):
    """The item's worker process ended without an answer, again when the item ran alone: it crashed
    in native code or was killed (for lack of memory, say)."""


def _call(token: int, item):
    return _functions[token](item)


def _start(on_start: Callable[[], None] | None, parent: int) -> None:
    _die_with(parent)
    if on_start is not None:
        on_start()


def _die_with(parent: int) -> None:
    """A parent killed outright (SIGKILL, the OOM killer) cannot shut its pool down: without this its
    workers would live on, orphans holding memory and database connections."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return  # not Linux's prctl: the pool's own shutdown is all there is
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


class ForkedWorkers(Generic[Item, Result]):
    """`function` applied to items in up to `at_once` processes forked on first use, for work that
    holds the GIL (tokenising, regular expressions, HTML parsing), which threads would only take turns at.

    `on_start` runs first in every worker: it must let go of what the parent's copy still uses, such
    as pooled database connections. Use as a context manager; the workers end with it, and items
    not yet started then are dropped. Take each item's answer with `result`: an error `function`
    lets escape is raised there, and a worker's death is pinned on the item that caused it.
    """

    def __init__(self, function: Callable[[Item], Result], at_once: int,
                 on_start: Callable[[], None] | None = None):
        self._function, self._at_once, self._on_start = function, at_once, on_start
        self._pool: ProcessPoolExecutor | None = None
        self._token = -1

    def __enter__(self) -> ForkedWorkers[Item, Result]:
        with _registry_lock:
            self._token = next(_tokens)
            _functions[self._token] = self._function
        self._pool = self._new_pool(self._at_once)
        return self

    def submit(self, item: Item) -> Future:
        assert self._pool is not None, "ForkedWorkers used outside its `with` block"
        try:
            return self._pool.submit(_call, self._token, item)
        except BrokenProcessPool:  # a worker died: the items it took down are run again by `result`
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool(self._at_once)
            return self._pool.submit(_call, self._token, item)

    def result(self, item: Item, future: Future) -> Result:
        """The item's answer. When a worker dies, every item then in the pool fails with it; each runs
        again alone in a new worker, so only an item that kills that one too raises WorkerDied."""
        try:
            return future.result()
        except BrokenProcessPool:
            with self._new_pool(1) as alone:
                try:
                    return alone.submit(_call, self._token, item).result()
                except BrokenProcessPool as error:
                    raise WorkerDied(f"worker process died while working on {item!r}") from error

    def __exit__(self, *exc_info) -> None:
        try:
            self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            with _registry_lock:
                _functions.pop(self._token, None)

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_start, initargs=(self._on_start, os.getpid()))
