"""The shared OpenAI budget: requests and tokens per minute held in Postgres for every process, and provider pauses."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from ingest_pipeline.rate_budget import PostgresRateBudget, parse_reset


class Waited(Exception):
    pass


def _refuse_to_wait(seconds: float) -> None:
    raise Waited(seconds)


def _budget(engine, rpm=2, tpm=1000) -> PostgresRateBudget:
    return PostgresRateBudget(engine, "openai:test", rpm, tpm, sleep=_refuse_to_wait)


def test_requests_beyond_the_minute_wait_even_from_another_engine(engine):
    first = _budget(engine)
    assert first.acquire(10) == 0.0 and first.acquire(10) == 0.0
    # A second pool on the same database stands in for another process: it sees the same budget.
    other = _budget(create_engine(engine.url))
    with pytest.raises(Waited) as waited:
        other.acquire(10)
    assert 0 < waited.value.args[0] <= 60


def test_tokens_beyond_the_minute_wait(engine):
    budget = _budget(engine, rpm=100, tpm=1000)
    budget.acquire(900)
    with pytest.raises(Waited):
        budget.acquire(200)


def test_a_request_larger_than_the_whole_token_budget_goes_alone(engine):
    assert _budget(engine, rpm=100, tpm=1000).acquire(5000) == 0.0


def test_exhausted_provider_headers_pause_everyone_until_reset(engine):
    budget = _budget(engine, rpm=100, tpm=10_000)
    budget.observe({"x-ratelimit-remaining-requests": "5", "x-ratelimit-remaining-tokens": "0",
                    "x-ratelimit-reset-tokens": "20s"})
    with pytest.raises(Waited) as waited:
        budget.acquire(1)
    assert waited.value.args[0] == pytest.approx(5.0)  # waits in slices, re-reading the shared pause


@pytest.mark.parametrize("value, seconds", [
    ("1s", 1.0), ("6m0s", 360.0), ("120ms", 0.12), ("1h2m3.5s", 3723.5), ("0s", 0.0), ("17", 17.0),
])
def test_reset_durations(value, seconds):
    assert parse_reset(value) == pytest.approx(seconds)
