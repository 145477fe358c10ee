"""Contract of `ForkedWorkers`: items run in forked processes, two at once, in order, with the function inherited rather than pickled and errors carried back whole."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ingest_pipeline.domain.errors import DocumentRejected, ProviderPaused
from ingest_pipeline.orchestration.process_map import ForkedWorkers, WorkerDied

_started_in: list[int] = []


def _results(function, items, at_once=2, on_start=None) -> list:
    with ForkedWorkers(function, at_once, on_start) as workers:
        futures = [workers.submit(item) for item in items]
        return [workers.result(item, future) for item, future in zip(items, futures)]


def test_results_come_back_in_order_from_other_processes():
    results = _results(lambda n: (n * n, os.getpid()), list(range(40)))
    assert [square for square, _ in results] == [n * n for n in range(40)]
    assert os.getpid() not in {pid for _, pid in results}


def test_two_items_are_worked_on_at_the_same_time():
    # Each item waits for another to reach the barrier: done one at a time, the barrier would break.
    both = multiprocessing.get_context("fork").Barrier(2, timeout=10)
    assert _results(lambda n: both.wait() >= 0 and n, [1, 2, 3, 4]) == [1, 2, 3, 4]


def test_the_function_is_inherited_not_pickled():
    lock = threading.Lock()  # neither a lock nor a lambda can be pickled
    assert _results(lambda n: (lock.acquire(), lock.release(), n)[2], [5, 6]) == [5, 6]


def test_on_start_runs_in_every_worker_before_its_items():
    def on_start():
        _started_in.append(os.getpid())

    results = _results(lambda _: list(_started_in), ["a", "b", "c", "d"], on_start=on_start)
    assert all(len(started) == 1 for started in results)
    assert _started_in == []  # the parent's copy: on_start ran in the workers only


def test_an_escaping_error_comes_back_with_its_fields():
    def reject(n):
        if n == 1:
            raise DocumentRejected("the parse job failed", restart_stage="parse_job")
        raise ProviderPaused("llamaparse", "circuit open until 12:00")

    with ForkedWorkers(reject, 2) as workers:
        futures = {n: workers.submit(n) for n in (1, 2)}
        rejected, paused = futures[1].exception(), futures[2].exception()
    assert isinstance(rejected, DocumentRejected)
    assert (rejected.reason, rejected.restart_stage) == ("the parse job failed", "parse_job")
    assert isinstance(paused, ProviderPaused) and (paused.provider, paused.reason) == ("llamaparse", "circuit open until 12:00")


def test_items_not_started_when_the_block_ends_are_dropped():
    def work(n: int) -> int:
        if n == 0:
            raise ValueError("item 0 is bad")
        return n

    with pytest.raises(ValueError, match="item 0 is bad"):
        with ForkedWorkers(work, 2) as workers:
            futures = [workers.submit(n) for n in range(500)]
            futures[0].result()
    assert any(future.cancelled() for future in futures)


def test_a_dead_worker_is_pinned_on_the_item_that_killed_it():
    def work(n: int) -> int:
        if n == 3:
            os.kill(os.getpid(), signal.SIGKILL)  # as a crash in native code, or the OOM killer, would
        return n

    answers = {}
    with ForkedWorkers(work, 2) as workers:
        futures = [(n, workers.submit(n)) for n in range(6)]
        futures += [(n, workers.submit(n)) for n in range(6, 9)]  # submitted after the pool broke
        for n, future in futures:
            try:
                answers[n] = workers.result(n, future)
            except WorkerDied as died:
                answers[n] = died
    assert isinstance(answers.pop(3), WorkerDied)
    assert answers == {n: n for n in range(9) if n != 3}


_ORPHAN_PARENT = """
import os, sys, time
from pathlib import Path
from ingest_pipeline.orchestration.process_map import ForkedWorkers

def work(item):
    Path(sys.argv[1]).write_text(str(os.getpid()))
    time.sleep(600)

with ForkedWorkers(work, 1) as workers:
    workers.result(0, workers.submit(0))
"""


def _alive(pid: int) -> bool:
    try:
        state = next(line for line in open(f"/proc/{pid}/status") if line.startswith("State:"))
    except FileNotFoundError:
        return False
    return "Z" not in state.split()[1]  # a zombie has ended; only its parent's reaping is left


def test_workers_end_with_a_parent_that_was_killed_outright(tmp_path):
    pid_file = tmp_path / "worker.pid"
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_PARENT, str(pid_file)])
    try:
        while not pid_file.exists() or not pid_file.read_text():
            assert parent.poll() is None, "the parent ended before its worker started"
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        assert _alive(worker)
    finally:
        parent.kill()  # SIGKILL: no chance to shut its pool down
        parent.wait()
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker), "the worker outlived its killed parent"
