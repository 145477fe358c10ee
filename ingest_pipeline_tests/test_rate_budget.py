"""The shared OpenAI budget: continuous buckets in Postgres for every process, limits learned from responses, pauses."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine

from ingest_pipeline.embed.budget import MAX_WAIT_SECONDS, Limits, PostgresRateBudget
from ingest_pipeline.embed.embedder import Usage


class Waited(Exception):
    pass


def _refuse_to_wait(seconds: float) -> None:
    raise Waited(seconds)


def _budget(engine, provisional=Limits(2, 1000), ceilings=Limits()) -> PostgresRateBudget:
    return PostgresRateBudget(engine, "openai:test", provisional, ceilings, sleep=_refuse_to_wait)


def _wait_of(budget: PostgresRateBudget, tokens: int) -> float:
    with pytest.raises(Waited) as waited:
        budget.acquire(tokens)
    return waited.value.args[0]


def _headers(kind: str, limit: int, remaining: int, reset: str = "0s") -> dict[str, str]:
    return {f"x-ratelimit-limit-{kind}": str(limit), f"x-ratelimit-remaining-{kind}": str(remaining),
            f"x-ratelimit-reset-{kind}": reset}


def test_work_starts_at_once_and_waits_only_for_the_refill_it_needs(engine):
    budget = _budget(engine, Limits(100, 60_000))
    assert budget.acquire(40_000) == 0.0
    # 20,000 left of 60,000 per minute (1,000 per second): 3,000 more are 3 s away, not a new minute.
    assert 2.5 < _wait_of(budget, 23_000) <= 3.0


def test_every_process_draws_on_the_same_buckets(engine):
    first = _budget(engine)
    assert first.acquire(10) == 0.0 and first.acquire(10) == 0.0
    # A second pool on the same database stands in for another process: it sees the same budget.
    other = _budget(create_engine(engine.url))
    assert 0 < _wait_of(other, 10) <= 30  # one request back at 2 per minute


def test_the_first_answer_teaches_the_accounts_limits(engine):
    budget = _budget(engine, Limits(3000, 1000))
    budget.acquire(900)
    budget.observe({**_headers("tokens", 10_000_000, 9_999_100), **_headers("requests", 10_000, 9_999)})
    assert budget.limits() == Limits(10_000, 10_000_000)
    assert budget.acquire(2_000_000) == 0.0  # the larger bucket is there to use at once


def test_ceilings_keep_the_budget_below_the_accounts_limit(engine):
    budget = _budget(engine, ceilings=Limits(requests=50, tokens=500))
    budget.observe({**_headers("tokens", 1_000_000, 1_000_000), **_headers("requests", 3000, 3000)})
    assert budget.limits() == Limits(50, 500)
    budget.acquire(500)
    assert _wait_of(budget, 100) > 0


def test_a_lowered_limit_is_followed_from_the_next_response(engine):
    budget = _budget(engine, Limits(3000, 1_000_000))
    budget.observe(_headers("tokens", 1_000_000_000, 999_000_000))
    assert budget.acquire(50_000) == 0.0
    budget.observe(_headers("tokens", 60_000, 1_000, "59s"))
    assert budget.limits().tokens == 60_000
    assert 2.5 < _wait_of(budget, 4_000) <= 3.0  # 3,000 missing at 1,000 per second


def test_the_providers_remaining_lowers_ours_when_others_use_the_key(engine):
    budget = _budget(engine, Limits(3000, 1_000_000))
    budget.observe(_headers("requests", 3000, 0, "20ms"))
    assert 0 < _wait_of(budget, 1) <= 0.03


def test_a_429_pauses_everyone_and_waits_are_sliced(engine):
    budget = _budget(engine, Limits(100, 10_000))
    budget.pause(20)
    assert _wait_of(_budget(create_engine(engine.url)), 1) == pytest.approx(MAX_WAIT_SECONDS)


def test_headers_without_rate_limits_change_nothing(engine):
    budget = _budget(engine, Limits(5, 100))
    budget.observe({"content-type": "application/json"})
    assert budget.limits() == Limits(5, 100)


def test_a_request_waiting_on_the_provisional_limits_goes_as_soon_as_an_answer_raises_them(engine):
    budget = PostgresRateBudget(engine, "openai:test", Limits(3000, 60_000))
    budget.acquire(60_000)  # the provisional bucket is empty: the next request is a minute away
    sleeping, done = threading.Event(), threading.Event()
    budget.sleep = lambda seconds: (sleeping.set(), budget._until_changed(seconds))
    waiter = threading.Thread(target=lambda: (budget.acquire(30_000), done.set()))
    waiter.start()
    assert sleeping.wait(30)
    budget.observe(_headers("tokens", 10_000_000, 9_940_000))
    # Well within the wait slice it was sleeping: the answer woke it, it did not poll its way there.
    assert done.wait(MAX_WAIT_SECONDS / 2)
    waiter.join()


def test_waits_that_overlap_count_once_in_what_the_limit_cost():
    usage, other = Usage(budget_waits=[(10.0, 14.0), (12.0, 13.0)]), Usage(budget_waits=[(13.5, 16.0), (20.0, 21.0)])
    usage.add(other)
    assert usage.budget_wait_seconds == pytest.approx(7.0)  # 10-16 and 20-21, not 4 + 1 + 2.5 + 1
    assert Usage().budget_wait_seconds == 0.0
