"""Continuous token buckets refill evenly, learn capacities, and read OpenAI's x-ratelimit-* headers."""

from __future__ import annotations

import pytest

from ingest_pipeline.embed.token_bucket import Advertised, Bucket, advertised, parse_reset


def test_a_bucket_refills_continuously_not_at_the_top_of_a_minute():
    empty = Bucket(capacity=60, level=0)
    assert empty.refilled(1.0).level == pytest.approx(1.0)
    assert empty.refilled(30.0).level == pytest.approx(30.0)
    assert empty.refilled(600.0).level == 60  # never more than a minute's worth


def test_the_wait_is_the_refill_time_of_what_is_missing():
    bucket = Bucket(capacity=1_000_000, level=100_000)
    assert bucket.wait_for(100_000) == 0.0
    # 200,000 missing at 1,000,000 / 60 per second.
    assert bucket.wait_for(300_000) == pytest.approx(12.0)


def test_a_request_larger_than_the_bucket_goes_alone_when_it_is_full():
    full = Bucket(capacity=1000, level=1000)
    assert full.wait_for(5000) == 0.0
    after = full.taken(5000)
    assert after.level == -4000 and after.wait_for(1) == pytest.approx(4001 * 60 / 1000)


def test_a_larger_learned_capacity_is_there_to_use_and_a_smaller_one_clamps():
    bucket = Bucket(capacity=1_000_000, level=700_000)
    assert bucket.resized(10_000_000) == Bucket(10_000_000, 9_700_000)
    assert bucket.resized(500_000) == Bucket(500_000, 500_000)
    assert Bucket(1000, 200).resized(800) == Bucket(800, 200)


def test_the_provider_level_only_ever_lowers_ours():
    bucket = Bucket(capacity=1000, level=600)
    assert bucket.reconciled(250).level == 250
    assert bucket.reconciled(900).level == 600
    assert bucket.reconciled(None).level == 600


def test_headers_are_read_per_kind_and_reset_bounds_the_server_level():
    headers = {"x-ratelimit-limit-tokens": "1000000", "x-ratelimit-remaining-tokens": "999000",
               "x-ratelimit-reset-tokens": "6s", "x-ratelimit-limit-requests": "3000"}
    tokens = advertised(headers, "tokens")
    assert tokens == Advertised(1_000_000, 999_000, 6.0)
    # Full again in 6 s at 1,000,000 / 60 per second: the bucket holds 900,000, whatever `remaining` says.
    assert tokens.server_level() == pytest.approx(900_000)
    assert advertised(headers, "requests") == Advertised(3000, None, None)
    assert advertised(headers, "requests").server_level() is None


@pytest.mark.parametrize("headers", [{}, {"x-ratelimit-limit-tokens": "lots", "x-ratelimit-remaining-tokens": ""},
                                     {"x-ratelimit-limit-tokens": "0"}])
def test_missing_or_unreadable_headers_say_nothing(headers):
    assert advertised(headers, "tokens") == Advertised()


@pytest.mark.parametrize("value, seconds", [
    ("1s", 1.0), ("6m0s", 360.0), ("120ms", 0.12), ("1h2m3.5s", 3723.5), ("0s", 0.0), ("17", 17.0), ("1.2.3s", 0.0),
])
def test_reset_durations(value, seconds):
    assert parse_reset(value) == pytest.approx(seconds)
