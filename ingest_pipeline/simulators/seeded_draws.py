"""Reproducible fault draws: a lock-guarded generator seeded from a fault configuration's `seed`."""

from __future__ import annotations

import random
import threading


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
