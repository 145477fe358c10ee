"""The parse-job status check schedule: a first check scaled by size and tier, exponential back-off, its cap."""

from __future__ import annotations

import pytest

from ingest_pipeline.parse.poll_schedule import (
    MIN_GAP_SECONDS,
    PollPolicy,
    check_times,
    checks_until_found,
    estimated_pages,
    expected_seconds,
    first_check,
    next_check,
)

DEFAULT = PollPolicy()


@pytest.mark.parametrize("pages, tier, first", [
    (1, "fast", 2.0),               # a small job: the earliest first check
    (10, "fast", 4.0),              # (3 + 0.5 * 10) / 2
    (10, "cost_effective", 9.0),    # (3 + 1.5 * 10) / 2
    (10, "agentic", 21.5),          # (3 + 4 * 10) / 2
    (10, "agentic_plus", 41.5),     # (3 + 8 * 10) / 2
    (10, "a-new-tier", 41.5),       # an unknown tier counts as the slowest
    (500, "cost_effective", 60.0),  # never later than the cap
])
def test_the_first_check_is_scaled_by_pages_and_tier(pages, tier, first):
    assert first_check(expected_seconds(pages, tier), DEFAULT) == pytest.approx(first)


@pytest.mark.parametrize("size, media_type, pages", [
    (0, "text/plain", 1), (3_000, "text/markdown", 1), (3_001, "text/html", 2),
    (120_000, "application/pdf", 3), (50_000, None, 17),
])
def test_pages_are_estimated_from_the_size_until_they_are_counted(size, media_type, pages):
    assert estimated_pages(size, media_type) == pages


def test_each_check_comes_one_and_a_half_times_as_long_after_submission_as_the_last():
    times = list(check_times(expected_seconds(1, "fast"), DEFAULT, until=60))
    assert times == pytest.approx([2.0, 4.0, 6.0, 9.0, 13.5, 20.25, 30.375, 45.5625])


@pytest.mark.parametrize("cap", [5.0, 30.0, 60.0, 120.0])
def test_the_back_off_is_capped(cap):
    policy = PollPolicy(cap_seconds=cap)
    times = list(check_times(expected_seconds(1, "fast"), policy, until=3600))
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert max(gaps) == pytest.approx(cap) and gaps[-1] == pytest.approx(cap)
    assert min(gaps) >= MIN_GAP_SECONDS
    assert next_check(3000.0, policy) == pytest.approx(3000.0 + cap)


def test_a_cap_below_the_minimum_gap_still_spaces_checks_two_seconds_apart():
    policy = PollPolicy(first_seconds=0.0, cap_seconds=0.0)
    assert first_check(expected_seconds(1, "fast"), policy) == 0.0  # "at once", as INGEST_PARSE_POLL_AFTER=0 was
    assert next_check(10.0, policy) == 10.0 + MIN_GAP_SECONDS


@pytest.mark.parametrize("pages, tier, checks", [
    (200, "cost_effective", 6),  # a job its size says is long: checked from 60 s on
    (40, "agentic", 6),
    (1, "fast", 14),             # a one-page job that sat 5 minutes in the service's queue
])
def test_a_five_minute_job_costs_about_ten_checks_not_one_per_tick(pages, tier, checks):
    assert checks_until_found(300.0, expected_seconds(pages, tier), DEFAULT) == checks


@pytest.mark.parametrize("duration, checks", [(5, 3), (10, 5), (20, 6), (30, 7), (60, 9)])
def test_short_jobs_are_found_within_half_their_duration(duration, checks):
    expected = expected_seconds(1, "fast")
    assert checks_until_found(duration, expected, DEFAULT) == checks
    found = next(moment for moment in check_times(expected, DEFAULT, until=10 * duration) if moment >= duration)
    assert found - duration <= max(MIN_GAP_SECONDS, 0.5 * duration)


@pytest.mark.parametrize("policy", [dict(first_seconds=-1.0), dict(cap_seconds=-5.0), dict(backoff=0.9)])
def test_a_policy_that_cannot_work_is_refused_with_the_reason(policy):
    with pytest.raises(ValueError, match="poll"):
        PollPolicy(**policy)
