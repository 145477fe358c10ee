"""Contract of `map_in_threads`: results in the items' order, several items truly at once, and an escaping error stops the rest."""

from __future__ import annotations

import threading

import pytest

from ingest_pipeline.cli.thread_map import map_in_threads


def test_results_come_back_in_the_order_of_the_items():
    assert map_in_threads(lambda n: n * n, list(range(50)), at_once=2) == [n * n for n in range(50)]


def test_two_items_are_worked_on_at_the_same_time():
    # Each item waits for another to reach the barrier: done one at a time, the barrier would break.
    both = threading.Barrier(2, timeout=10)
    assert map_in_threads(lambda n: both.wait() >= 0 and n, [1, 2, 3, 4], at_once=2) == [1, 2, 3, 4]


def test_one_at_a_time_runs_in_the_calling_thread():
    caller = threading.get_ident()
    assert map_in_threads(lambda _: threading.get_ident(), ["a", "b"], at_once=1) == [caller, caller]


def test_an_escaping_error_is_raised_and_later_items_never_start():
    started = []

    def work(n: int) -> int:
        started.append(n)
        if n == 0:
            raise ValueError("item 0 is bad")
        return n

    with pytest.raises(ValueError, match="item 0 is bad"):
        map_in_threads(work, list(range(200)), at_once=2)
    assert len(started) < 200
