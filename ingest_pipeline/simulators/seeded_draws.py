"""What both simulators share about faults: live settings and reproducible, seeded draws."""

from __future__ import annotations

import dataclasses
import random
import threading

from ingest_pipeline.simulators.openai_protocol import ApiError


class SeededDraws:
    """Base of the simulators' fault injectors: one generator per simulator, restartable to replay a run."""

    def __init__(self, faults):
        self.faults = faults
        self._lock = threading.Lock()
        self._random = random.Random(faults.seed)
        self._seeded_with = faults.seed

    def reseed(self) -> None:
        """Restart the sequence, even for an unchanged seed, so a test can replay the same draws."""
        with self._lock:
            self._random.seed(self.faults.seed)
            self._seeded_with = self.faults.seed


class LiveFaultSettings:
    """Base of the simulators' fault dataclasses: read on every request, changed whole or not at all."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def update(self, changes: object) -> None:
        """Apply a partial JSON update in place, all or nothing, so the shared object is never half-changed."""
        if not isinstance(changes, dict):
            raise ApiError(400, "Fault settings must be a JSON object.")
        candidate = dataclasses.replace(self)
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise ApiError(400, f"Unknown fault setting {name!r}.", param=name)
            setattr(candidate, name, value)
        candidate.validate()
        for name in changes:
            setattr(self, name, getattr(candidate, name))
