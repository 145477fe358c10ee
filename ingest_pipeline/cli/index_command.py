"""`ingest-pipeline index`: move newly published vectors into the HNSW indexes; after an ingest, the CLI starts it
by itself in a detached process, so the ingest returns as soon as its documents are searchable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import astuple
from pathlib import Path

from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import INDEX_BEFORE_RETURNING, INDEX_IN_BACKGROUND
from ingest_pipeline.store import index_upkeep


def add_to(commands) -> None:
    index = commands.add_parser(
        "index", help="Move newly published vectors into their HNSW index (an ingest starts this in the background by "
                      "itself); waits for an upkeep already under way, so when it returns, everything is indexed.")
    index.set_defaults(handler=run)


def run(args) -> int:
    app = Application.from_env()
    if not _sets_behind(app):
        print("every published vector is in its set's index", file=sys.stderr)
        return 0
    return 0 if index_now(app) else 1


def _sets_behind(app: Application) -> list:
    """The sets the upkeep would take in: the active one and the one the configured embedder fills."""
    return index_upkeep.sets_behind(app.engine, astuple(app.embedder.space))


def index_now(app: Application) -> bool:
    """The upkeep as a Dagster run in this process (so the UI shows it as a materialization of `search_index`)."""
    from ingest_pipeline.orchestration.runs import run_index_upkeep

    started = time.perf_counter()
    result = run_index_upkeep(app.settings.dagster_home, app.resources)
    if not result.success:
        print(f"index upkeep run {result.run_id} failed: see the run in the Dagster UI; search still finds every "
              "published vector, by an exact scan of those not yet indexed", file=sys.stderr)
        return False
    [materialization] = result.asset_materializations_for_node("search_index")
    found = {key: value.value for key, value in materialization.metadata.items()}
    print(f"indexed {found['vectors_indexed']} vectors ({found['sets_rebuilt']} index(es) rebuilt) in "
          f"{time.perf_counter() - started:.1f} s; run {result.run_id}", file=sys.stderr)
    return True


def keep_index_up(app: Application) -> None:
    """After runs that published vectors: index them now or in a detached process, as INGEST_INDEX_UPKEEP says."""
    behind = _sets_behind(app)
    if not behind:
        return
    mode = app.settings.index_upkeep
    if mode == INDEX_BEFORE_RETURNING:
        index_now(app)
        return
    if mode != INDEX_IN_BACKGROUND:
        print(f"INGEST_INDEX_UPKEEP={mode!r} is neither {INDEX_IN_BACKGROUND!r} nor {INDEX_BEFORE_RETURNING!r}: "
              f"indexing in the background", file=sys.stderr)
    waiting = sum(index_upkeep.unindexed_count(app.engine, found.id) for found in behind)
    pid, log = start_in_background(app.settings.home)
    print(f"{waiting} new vectors go into the search index in the background (process {pid}, log {log}); search "
          "finds them meanwhile; `ingest-pipeline index` waits for it", file=sys.stderr)


def start_in_background(home: Path) -> tuple[int, Path]:
    """`ingest-pipeline index` in a session of its own, so it outlives this command and its terminal; its output
    goes to a log under INGEST_HOME."""
    log = home / "logs" / "index-upkeep.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        output.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} after the ingest of process {os.getpid()}\n".encode())
        output.flush()
        process = subprocess.Popen([sys.executable, "-m", "ingest_pipeline.cli.main", "index"],
                                   stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return process.pid, log
