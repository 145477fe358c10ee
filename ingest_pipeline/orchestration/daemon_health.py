"""Whether Dagster's daemon (sensors, backfills, the run queue) is running for an instance, read from its heartbeats."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import dagster as dg

from ingest_pipeline.domain.checks import CheckResult
from ingest_pipeline.logs.redaction import redact

NO_DAEMON = "no daemon running"


def daemon_check(instance: dg.DagsterInstance) -> CheckResult:
    """Whether the daemons this instance needs (sensors, backfills, run queue) have a recent heartbeat.

    "Recent" is Dagster's own reading (its daemon page says the same): a heartbeat every 30 s, and a
    daemon counts as gone after 30 minutes without one. The age of the last heartbeat is shown too."""
    heartbeats = instance.get_daemon_heartbeats()
    if not heartbeats:
        return CheckResult("daemon", False, f"{NO_DAEMON}: no daemon has ever sent a heartbeat to this instance "
                                            "(start `dagster dev`, or `dagster-daemon run` in a deployment)")
    age = _age(time.time() - max(beat.timestamp for beat in heartbeats.values()))
    statuses = instance.get_daemon_statuses()
    gone = sorted(kind for kind, status in statuses.items() if status.required and not status.healthy)
    if gone:
        return CheckResult("daemon", False, f"{NO_DAEMON}: last heartbeat {age} ago (no recent one from "
                                            f"{', '.join(gone)})")
    return CheckResult("daemon", True, f"running: {len(statuses)} daemons, last heartbeat {age} ago")


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"


class NoInstance(FileNotFoundError):
    pass


def open_heartbeat_instance(dagster_home: Path) -> dg.DagsterInstance:
    """The instance in `dagster_home`, read where it is: the process's DAGSTER_HOME is left alone and a
    missing home is not created (`runs.open_instance` would do both)."""
    if not dagster_home.is_dir():
        # The path stays out of the message: GET /health answers anyone.
        raise NoInstance(f"{NO_DAEMON}: there is no Dagster instance in DAGSTER_HOME yet")
    return dg.DagsterInstance.from_config(str(dagster_home))


def daemon_check_of(open_instance: Callable[[], dg.DagsterInstance]) -> CheckResult:
    try:
        return daemon_check(open_instance())
    except NoInstance as missing:
        return CheckResult("daemon", False, str(missing))
    except Exception as error:  # noqa: BLE001 - an unreadable instance is this check's answer
        return CheckResult("daemon", False, redact(f"cannot read the Dagster instance ({type(error).__name__}: {error})"))
