"""Dagster's side of a CLI ingest, set up in a background thread while the files are still being registered."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Sequence

from ingest_pipeline.service.application import Application


class DagsterSetUp:
    """Importing Dagster, building the definitions and opening the instance take one to two seconds
    (creating the instance's tables on a fresh database, most of one). Started as soon as one
    registered file turns out to need work, they overlap the registering of the others; an ingest
    that has nothing to do never starts them, so never pays for them.
    """

    def __init__(self, app: Application):
        self._app = app
        self._lock = threading.Lock()
        self._prepared: Future | None = None

    def start(self) -> None:
        """Begin in the background; calling it again (from any thread) does nothing."""
        with self._lock:
            if self._prepared is None:
                # The pool's thread is joined at exit, so an interrupted ingest never leaves
                # Dagster's storage half-initialised by a thread the interpreter killed.
                pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dagster-set-up")
                self._prepared = pool.submit(self._prepare)
                pool.shutdown(wait=False)

    def launch(self, document_ids: Sequence[str]) -> list:
        """Run the ingest job over these documents, once the set-up is done (errors in it raise here)."""
        from ingest_pipeline.orchestration.runs import launch_ingest

        self.start()
        settings = self._app.settings
        return launch_ingest(settings.dagster_home, document_ids, self._app.resources, self._prepared.result())

    def _prepare(self):
        from ingest_pipeline.orchestration.runs import prepare_ingest

        return prepare_ingest(self._app.settings.dagster_home, self._app.resources)
