"""What the simulator has served so far, shared by the server thread and whoever started it."""

from __future__ import annotations

import threading
from collections import Counter


class SimulatorStats:
    """Request counts by outcome and by status, and the inputs and tokens embedded in well-formed 200s.

    Outcomes: ok, malformed, dropped, invalid_request, model_not_found, unauthorized, rate_limited (the real
    RPM/TPM limits), injected_429, injected_500, fail_first_n, rejected_marker. `slowed` counts delayed
    requests whatever their outcome.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.slowed = 0
            self.inputs = 0
            self.tokens = 0
            self.by_outcome: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()

    def record(self, outcome: str, status: int | None, *, slowed: bool = False, inputs: int = 0, tokens: int = 0) -> None:
        """Count one request; `status` is None when the connection was dropped without an answer."""
        with self._lock:
            self.requests += 1
            self.slowed += int(slowed)
            self.inputs += inputs
            self.tokens += tokens
            self.by_outcome[outcome] += 1
            if status is not None:
                self.by_status[str(status)] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests": self.requests,
                "by_outcome": dict(self.by_outcome),
                "by_status": dict(self.by_status),
                "slowed": self.slowed,
                "inputs": self.inputs,
                "tokens": self.tokens,
            }
