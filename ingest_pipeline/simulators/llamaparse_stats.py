"""What the LlamaParse simulator has served and sent so far, shared by its threads and whoever started it."""

from __future__ import annotations

import threading
from collections import Counter


class ParseStats:
    """Counts by name: uploads, files, jobs_created, status_polls (GETs of one job), status_lists (GETs of the job
    list) and jobs_listed (jobs in their answers), cancels, unauthorized, injected_429, injected_500,
    jobs_<status> (terminal statuses reached), webhook_attempts, webhooks_delivered, webhooks_dropped (never sent, by
    fault), webhooks_failed (every attempt failed), webhooks_duplicated and webhooks_stale (extra sends, by fault)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
