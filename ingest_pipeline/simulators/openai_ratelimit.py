"""Requests-per-minute and tokens-per-minute limits over a sliding 60-second window, with OpenAI's headers."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

WINDOW_SECONDS = 60.0
# Advertised when a limit is off, so clients that pace themselves on the headers never wait.
UNLIMITED = 1_000_000_000


@dataclass(frozen=True)
class RateVerdict:
    """`exceeded` is "requests" or "tokens" when the request must be refused, with the wait that would fix it."""

    headers: dict[str, str]
    exceeded: str | None = None
    retry_after_seconds: float = 0.0
    limit: int = 0
    used: int = 0


class SlidingWindowLimiter:
    """Counts the requests and tokens admitted in the last 60 s; limits are passed per call so they can change live."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._admitted: deque[tuple[float, int]] = deque()
        self._tokens_in_window = 0

    def admit(self, tokens: int, rpm: int | None, tpm: int | None) -> RateVerdict:
        """Admit the request and count it, or refuse it (nothing counted) when it would pass a limit."""
        now = self._expire()
        if rpm is not None and len(self._admitted) + 1 > rpm:
            wait = self._admitted[0][0] + WINDOW_SECONDS - now if self._admitted else WINDOW_SECONDS
            return self._refusal("requests", wait, rpm, len(self._admitted), rpm, tpm, now)
        if tpm is not None and self._tokens_in_window + tokens > tpm:
            wait = self._wait_for_tokens(tokens, tpm, now)
            return self._refusal("tokens", wait, tpm, self._tokens_in_window, rpm, tpm, now)
        self._admitted.append((now, tokens))
        self._tokens_in_window += tokens
        return RateVerdict(headers=self._headers(rpm, tpm, now))

    def headers(self, rpm: int | None, tpm: int | None) -> dict[str, str]:
        """The current state, for answers that never reached the limiter (auth and validation errors)."""
        return self._headers(rpm, tpm, self._expire())

    def _refusal(
        self, kind: str, wait: float, limit: int, used: int, rpm: int | None, tpm: int | None, now: float
    ) -> RateVerdict:
        return RateVerdict(self._headers(rpm, tpm, now), kind, max(wait, 0.001), limit, used)

    def _expire(self) -> float:
        now = self._clock()
        while self._admitted and self._admitted[0][0] <= now - WINDOW_SECONDS:
            self._tokens_in_window -= self._admitted.popleft()[1]
        return now

    def _wait_for_tokens(self, tokens: int, tpm: int, now: float) -> float:
        """Seconds until enough admitted tokens leave the window; a request larger than the limit never fits."""
        if tokens > tpm:
            return WINDOW_SECONDS
        excess = self._tokens_in_window + tokens - tpm
        for admitted_at, admitted_tokens in self._admitted:
            excess -= admitted_tokens
            if excess <= 0:
                return admitted_at + WINDOW_SECONDS - now
        return WINDOW_SECONDS

    def _headers(self, rpm: int | None, tpm: int | None, now: float) -> dict[str, str]:
        # "Reset" is when the window is empty again, i.e. back to the full limit, as OpenAI defines it.
        reset = format_duration(self._admitted[-1][0] + WINDOW_SECONDS - now) if self._admitted else "0s"
        request_limit = UNLIMITED if rpm is None else rpm
        token_limit = UNLIMITED if tpm is None else tpm
        return {
            "x-ratelimit-limit-requests": str(request_limit),
            "x-ratelimit-remaining-requests": str(max(request_limit - len(self._admitted), 0)),
            "x-ratelimit-reset-requests": reset,
            "x-ratelimit-limit-tokens": str(token_limit),
            "x-ratelimit-remaining-tokens": str(max(token_limit - self._tokens_in_window, 0)),
            "x-ratelimit-reset-tokens": reset,
        }


def format_duration(seconds: float) -> str:
    """Go-style durations as OpenAI writes them: "20ms", "1.5s", "6m0s", "1h2m3s"."""
    milliseconds = max(round(seconds * 1000), 0)
    if milliseconds < 1000:
        return f"{milliseconds}ms" if milliseconds else "0s"
    minutes, milliseconds = divmod(milliseconds, 60_000)
    hours, minutes = divmod(minutes, 60)
    text = f"{milliseconds / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text
