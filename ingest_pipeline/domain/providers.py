"""The names of the parsers and embedders, which also name their circuits, pools and embedding sets, and the
state of a provider's circuit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The services called over the network.
OPENAI, LLAMAPARSE = "openai", "llamaparse"
# Their offline stand-ins, the defaults.
LOCAL, HASHING = "local", "hashing"
PARSERS = (LOCAL, LLAMAPARSE)
EMBEDDERS = (HASHING, OPENAI)


@dataclass(frozen=True)
class CircuitState:
    provider: str
    failures: int
    opened_at: datetime | None
    open_until: datetime | None
    last_error: str | None

    def describe(self) -> str:
        return (f"{self.provider} is paused after {self.failures} consecutive errors (last: {self.last_error}); "
                f"next try at {self.open_until:%Y-%m-%d %H:%M:%S %Z}")
