"""When to ask a parser service about a job no webhook has finished: a first check scaled by the work, then back-off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

# Rough seconds of LlamaParse work per page by tier, and per job on top. They only place the first check:
# a guess too low costs a few early requests, one too high a late first check (never later than the cap).
SECONDS_PER_PAGE = {"fast": 0.5, "cost_effective": 1.5, "agentic": 4.0, "agentic_plus": 8.0}
SECONDS_PER_JOB = 3.0
# Bytes per page when the page count is not known yet (it is counted only once the text comes back).
BYTES_PER_PAGE = {"application/pdf": 50_000}
BYTES_PER_TEXT_PAGE = 3_000
# The first check comes at this share of the expected duration: most jobs are not done before it.
FIRST_CHECK_SHARE = 0.5
# Two checks of one job are never closer than this, whatever the cap (only the first check may come sooner).
MIN_GAP_SECONDS = 2.0


@dataclass(frozen=True)
class PollPolicy:
    """`first_seconds`: the earliest first check; `backoff`: each check comes this many times as long after
    the submission as the one before; `cap_seconds`: the longest wait before the first check and between two
    checks (but two checks are at least MIN_GAP_SECONDS apart)."""

    first_seconds: float = 2.0
    backoff: float = 1.5
    cap_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.first_seconds < 0 or self.cap_seconds < 0:
            raise ValueError(f"poll delays must be >= 0 s (first {self.first_seconds:g}, cap {self.cap_seconds:g})")
        if self.backoff < 1.0:
            raise ValueError(f"the poll back-off must be at least 1.0 (got {self.backoff:g}): checks may not speed up")


POLL_DEFAULTS = PollPolicy()
# One parse-completion sensor evaluation watches this long for news (Dagster's daemon starts one about every
# 5 s), so a webhook or a due check is acted on within a fraction of a second instead of at the next tick.
WATCH_SECONDS = 4.0


def estimated_pages(size_bytes: int, media_type: str | None) -> int:
    """A page count good enough to place the first check: from the size, at least one."""
    per_page = BYTES_PER_PAGE.get(media_type or "", BYTES_PER_TEXT_PAGE)
    return max(1, -(-size_bytes // per_page))


def expected_seconds(pages: int, tier: str | None) -> float:
    """How long the service might take for `pages` at `tier` (unknown tiers count as the slowest)."""
    per_page = SECONDS_PER_PAGE.get(tier or "", max(SECONDS_PER_PAGE.values()))
    return SECONDS_PER_JOB + per_page * max(1, pages)


def first_check(expected: float, policy: PollPolicy) -> float:
    """Seconds after submission of the first status check."""
    return min(policy.cap_seconds, max(policy.first_seconds, FIRST_CHECK_SHARE * expected))


def next_check(last_check: float, policy: PollPolicy) -> float:
    """Seconds after submission of the check that follows one made `last_check` seconds after it."""
    gap = (policy.backoff - 1.0) * last_check
    return last_check + max(MIN_GAP_SECONDS, min(policy.cap_seconds, gap))


def check_times(expected: float, policy: PollPolicy, until: float) -> Iterator[float]:
    """Every check of a job still unfinished at `until` seconds, in order (for tests and the README)."""
    moment = first_check(expected, policy)
    while moment <= until:
        yield moment
        moment = next_check(moment, policy)


def checks_until_found(duration: float, expected: float, policy: PollPolicy) -> int:
    """Status checks a job that takes `duration` seconds costs, the one that finds it finished included."""
    return sum(1 for _ in check_times(expected, policy, duration)) + 1
