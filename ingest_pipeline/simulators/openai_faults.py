"""Which failures the simulator injects, how often, and the reproducible draws that decide each request's fate."""

from __future__ import annotations

from dataclasses import dataclass

from ingest_pipeline.simulators.openai_protocol import ApiError
from ingest_pipeline.simulators.seeded_draws import LiveFaultSettings, SeededDraws

_PROBABILITIES = ("probability_429", "probability_500", "probability_slow", "probability_malformed", "probability_drop")


@dataclass
class FaultConfig(LiveFaultSettings):
    """Live fault settings: the running simulator reads them on every request, so changes apply at once.

    Each probability is drawn independently per request. `fail_first_n` counts down as requests fail.
    `latency_seconds` delays every answer, drawn fault or not, as a real API's round trip would.
    """

    probability_429: float = 0.0
    probability_500: float = 0.0
    probability_slow: float = 0.0
    probability_malformed: float = 0.0
    probability_drop: float = 0.0
    slow_seconds: float = 2.0
    latency_seconds: float = 0.0
    retry_after_seconds: float = 1.0
    reject_marker: str | None = None
    fail_first_n: int = 0
    fail_status: int = 500
    seed: int | None = None

    def validate(self) -> None:
        for name in _PROBABILITIES:
            _require(name, _is_number(getattr(self, name)) and 0.0 <= getattr(self, name) <= 1.0, "a number in [0, 1]")
        for name in ("slow_seconds", "latency_seconds", "retry_after_seconds"):
            _require(name, _is_number(getattr(self, name)) and getattr(self, name) >= 0, "a number >= 0")
        _require("reject_marker", self.reject_marker is None or isinstance(self.reject_marker, str), "a string or null")
        _require("fail_first_n", _is_integer(self.fail_first_n) and self.fail_first_n >= 0, "an integer >= 0")
        _require("fail_status", _is_integer(self.fail_status) and 400 <= self.fail_status <= 599, "a status in 400-599")
        _require("seed", self.seed is None or _is_integer(self.seed), "an integer or null")


@dataclass(frozen=True)
class FaultDraw:
    """The faults one request suffers; a dropped connection wins over an injected error status."""

    fail_status: int | None = None
    drop: bool = False
    status_429: bool = False
    status_500: bool = False
    slow: bool = False
    malformed: bool = False


class FaultInjector(SeededDraws):
    """Draws each request's faults from a generator seeded by `FaultConfig.seed`, so a seed replays a run."""

    def draw(self) -> FaultDraw:
        with self._lock:
            if self.faults.seed != self._seeded_with:
                self._random.seed(self.faults.seed)
                self._seeded_with = self.faults.seed
            # Always draw all five numbers, so one request's dice never shift the next request's.
            rolls = dict(zip(_PROBABILITIES, (self._random.random() for _ in _PROBABILITIES)))
            fail_status = None
            if self.faults.fail_first_n > 0:
                self.faults.fail_first_n -= 1
                fail_status = self.faults.fail_status
        hit = {name: rolls[name] < getattr(self.faults, name) for name in _PROBABILITIES}
        return FaultDraw(
            fail_status=fail_status,
            drop=hit["probability_drop"],
            status_429=hit["probability_429"],
            status_500=hit["probability_500"],
            slow=hit["probability_slow"],
            malformed=hit["probability_malformed"],
        )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(name: str, ok: bool, expected: str) -> None:
    if not ok:
        raise ApiError(400, f"Invalid fault setting {name!r}: expected {expected}.", param=name)
