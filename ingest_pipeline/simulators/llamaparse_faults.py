"""Which failures the LlamaParse simulator injects into requests, jobs and webhooks, drawn reproducibly from a seed."""

from __future__ import annotations

from dataclasses import dataclass

from ingest_pipeline.simulators.openai_faults import _is_integer, _is_number, _require
from ingest_pipeline.simulators.seeded_draws import LiveFaultSettings, SeededDraws

# Drawn once per API request.
REQUEST_PROBABILITIES = ("probability_429", "probability_500")
# Drawn once per job, when it is created.
JOB_PROBABILITIES = (
    "probability_failed", "probability_cancelled", "probability_partial", "probability_never_finish",
    "probability_webhook_delay", "probability_webhook_duplicate", "probability_webhook_out_of_order",
    "probability_webhook_unsigned", "probability_webhook_drop",
)


@dataclass
class ParseFaultConfig(LiveFaultSettings):
    """Live fault settings, read on every request and every new job, so POST /_faults applies at once.

    A job's outcome is decided in this order: never finishes, FAILED, CANCELLED, partial, else COMPLETED.
    """

    probability_429: float = 0.0
    probability_500: float = 0.0
    retry_after_seconds: float = 1.0
    probability_failed: float = 0.0
    probability_cancelled: float = 0.0
    probability_partial: float = 0.0
    probability_never_finish: float = 0.0
    probability_webhook_delay: float = 0.0
    webhook_delay_seconds: float = 1.0
    probability_webhook_duplicate: float = 0.0
    probability_webhook_out_of_order: float = 0.0
    probability_webhook_unsigned: float = 0.0
    probability_webhook_drop: float = 0.0
    seed: int | None = None

    def validate(self) -> None:
        for name in REQUEST_PROBABILITIES + JOB_PROBABILITIES:
            value = getattr(self, name)
            _require(name, _is_number(value) and 0.0 <= value <= 1.0, "a number in [0, 1]")
        for name in ("retry_after_seconds", "webhook_delay_seconds"):
            _require(name, _is_number(getattr(self, name)) and getattr(self, name) >= 0, "a number >= 0")
        _require("seed", self.seed is None or _is_integer(self.seed), "an integer or null")


@dataclass(frozen=True)
class JobFate:
    """What happens to one job and to its webhooks; `outcome` is completed, partial, failed, cancelled or never."""

    outcome: str = "completed"
    webhook_delay: bool = False
    webhook_delay_seconds: float = 0.0
    webhook_duplicate: bool = False
    webhook_out_of_order: bool = False
    webhook_unsigned: bool = False
    webhook_drop: bool = False


class ParseFaultInjector(SeededDraws):
    """Draws from one generator seeded by `ParseFaultConfig.seed`; every draw consumes a fixed count of numbers."""

    def _rolls(self, names: tuple[str, ...]) -> dict[str, bool]:
        with self._lock:
            if self.faults.seed != self._seeded_with:
                self._random.seed(self.faults.seed)
                self._seeded_with = self.faults.seed
            rolls = [self._random.random() for _ in names]
        return {name: roll < getattr(self.faults, name) for name, roll in zip(names, rolls)}

    def draw_request(self) -> int | None:
        """The status an API request is answered with instead of its own (429 wins over 500), or None."""
        hit = self._rolls(REQUEST_PROBABILITIES)
        return 429 if hit["probability_429"] else 500 if hit["probability_500"] else None

    def draw_job(self) -> JobFate:
        hit = self._rolls(JOB_PROBABILITIES)
        outcome = next(
            (name for name in ("never_finish", "failed", "cancelled", "partial") if hit[f"probability_{name}"]),
            "completed",
        )
        return JobFate(
            outcome="never" if outcome == "never_finish" else outcome,
            webhook_delay=hit["probability_webhook_delay"],
            webhook_delay_seconds=self.faults.webhook_delay_seconds,
            webhook_duplicate=hit["probability_webhook_duplicate"],
            webhook_out_of_order=hit["probability_webhook_out_of_order"],
            webhook_unsigned=hit["probability_webhook_unsigned"],
            webhook_drop=hit["probability_webhook_drop"],
        )
