"""Apply a function to many items a few at a time, in threads, keeping the items' order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_threads(function: Callable[[Item], Result], items: Sequence[Item], at_once: int,
                   name: str = "worker") -> list[Result]:
    """`[function(item) for item in items]`, up to `at_once` items at a time.

    Worth it where the work waits on I/O or runs in C code that releases the GIL (database round
    trips, hashing; not tiktoken, which keeps it: see process_map). `function` handles its own
    errors: the first one it lets escape stops the others from starting and is raised here, as is
    an interruption of the caller.
    """
    if at_once <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix=name)
    try:
        return list(pool.map(function, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
