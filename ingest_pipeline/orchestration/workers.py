"""How a stage spreads its documents over threads or forked processes, and takes their results back in order."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Protocol, Sequence

from sqlalchemy import Engine

from ingest_pipeline.orchestration.process_map import ForkedWorkers, WorkerDied, can_fork


class Workers(Protocol):
    """Where a stage's documents are worked on: `submit` a key, then take its `result`."""

    def submit(self, key: str) -> Future: ...

    def result(self, key: str, future: Future) -> Any: ...


class _Pool:
    """`function(key)` in a thread pool, or at once in this thread."""

    def __init__(self, function: Callable[[str], Any], pool: ThreadPoolExecutor | None):
        self.function, self.pool = function, pool

    def submit(self, key: str) -> Future:
        return self.pool.submit(self.function, key) if self.pool else _done_now(self.function, key)

    def result(self, key: str, future: Future) -> Any:
        return future.result()


@contextmanager
def stage_workers(engine: Engine, name: str, function: Callable[[str], Any], at_once: int,
                  processes: bool) -> Iterator[Workers]:
    """`function(key)` in one of `at_once` forked processes if asked for and possible, else threads;
    with one at a time, at once in this thread. Leaving the block drops work not started (an
    interrupted run starts no further document) and waits for work under way."""
    if at_once <= 1:
        yield _Pool(function, None)
    elif processes and can_fork():
        with ForkedWorkers(function, at_once, on_start=lambda: _own_connections(engine)) as workers:
            yield workers
    else:
        pool = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix=name)
        try:
            yield _Pool(function, pool)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def in_order(workers: Workers, keys: Sequence[str], ahead: int,
             died: Callable[[str], Any]) -> Iterator[tuple[str, Any]]:
    """(key, result) in the order of `keys`, with at most `ahead` keys submitted and not yet taken;
    `died(key)` stands in for the result of a key whose worker process died."""
    pending: deque[tuple[str, Future]] = deque()

    def take() -> tuple[str, Any]:
        key, future = pending.popleft()
        try:
            return key, workers.result(key, future)
        except WorkerDied:
            return key, died(key)

    for key in keys:
        pending.append((key, workers.submit(key)))
        if len(pending) >= ahead:
            yield take()
    while pending:
        yield take()


def _done_now(function: Callable[[str], Any], key: str) -> Future:
    future: Future = Future()
    try:
        future.set_result(function(key))
    except Exception as error:
        future.set_exception(error)
    return future


def _own_connections(engine: Engine) -> None:
    """In a forked worker: the pooled connections are the parent's, still in use there. Forget them
    without closing them (psycopg2 never closes a connection from another process when collected),
    so the worker opens its own; they close with it (an idle client's end is a normal disconnect)."""
    engine.dispose(close=False)
