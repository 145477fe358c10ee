"""Apply a function to many items in worker processes forked from this one, keeping the items' order."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Callable, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Functions the workers run, by token. Registered before the pool forks, so a worker finds its
# function in the memory it inherited: closures over resources are never pickled, only items and results.
_functions: dict[int, Callable] = {}
_tokens = itertools.count()
_registry_lock = threading.Lock()


def can_fork() -> bool:
    """Forking a process that has loaded native libraries is sound on Linux; macOS's system
    frameworks are not fork-safe, and Windows has no fork."""
    return sys.platform.startswith("linux")


def cores() -> int:
    """The cores this process may run on (a container's cpuset, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _call(token: int, item):
    return _functions[token](item)


def _start(on_start: Callable[[], None] | None) -> None:
    if on_start is not None:
        on_start()


class ForkedWorkers(Generic[Item, Result]):
    """`function` applied to items in up to `at_once` processes forked on first use, for work that
    holds the GIL (tokenising, regular expressions, HTML parsing), which threads would only take turns at.

    `on_start` runs first in every worker: it must let go of what the parent's copy still uses, such
    as pooled database connections. Use as a context manager; the workers end with it, and items
    not yet started then are dropped. An error that `function` lets escape is raised from the item's future.
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
        self._pool = ProcessPoolExecutor(max_workers=self._at_once, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_start, initargs=(self._on_start,))
        return self

    def submit(self, item: Item) -> Future:
        assert self._pool is not None, "ForkedWorkers used outside its `with` block"
        return self._pool.submit(_call, self._token, item)

    def __exit__(self, *exc_info) -> None:
        try:
            self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            with _registry_lock:
                _functions.pop(self._token, None)
