"""Live progress for the CLI: polls the documents' statuses while a run works on them."""

from __future__ import annotations

import sys
import threading
from collections import Counter

from ingest_pipeline.domain.statuses import PROGRESS, DocumentStatus

_INTERVAL = 0.5
_UNATTENDED_INTERVAL = 5.0


class ProgressReporter:
    """Prints `embedded 12/40 · failed 1 …` to stderr: rewritten in place on a terminal, else now and then."""

    def __init__(self, app, ids: list[str], enabled: bool = True):
        self.app, self.ids, self.enabled = app, ids, enabled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._tty = sys.stderr.isatty()

    def __enter__(self):
        if self.enabled:
            print(f"processing {len(self.ids)} document(s)…", file=sys.stderr)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self._show(final=True)

    def _loop(self) -> None:
        interval = _INTERVAL if self._tty else _UNATTENDED_INTERVAL
        while not self._stop.wait(interval):
            self._show()

    def _show(self, final: bool = False) -> None:
        counts = Counter(doc.status for doc, _ in self.app.documents(self.ids))
        order = list(PROGRESS) + [DocumentStatus.DUPLICATE, DocumentStatus.FAILED]
        line = " · ".join(f"{status} {counts[status]}" for status in order if counts[status])
        line = f"{line}  ({len(self.ids)} documents)"
        if self._tty:
            print("\r" + line.ljust(100), end="\n" if final else "", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)
