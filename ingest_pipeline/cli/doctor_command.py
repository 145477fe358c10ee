"""`ingest-pipeline doctor`: one line per check (database, pgvector, storage, providers, daemon); exit 1 if any failed."""

from __future__ import annotations

import dataclasses
import json

from ingest_pipeline.domain.checks import CheckResult
from ingest_pipeline.orchestration.daemon_health import daemon_check_of, open_heartbeat_instance
from ingest_pipeline.service.application import Application
from ingest_pipeline.service.health import DEFAULT_TIMEOUT_SECONDS, database_checks, provider_checks, storage_check
from ingest_pipeline.settings import Settings


def add_to(commands) -> None:
    doctor = commands.add_parser(
        "doctor", help="Check the database, pgvector, storage, parser, embedder and the Dagster daemon.")
    doctor.add_argument("--json", action="store_true", help="Print one JSON object instead of one line per check.")
    doctor.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS,
                        help="Seconds to wait for each provider (default: %(default)s).")
    doctor.set_defaults(handler=run)


def run(args) -> int:
    checks = collect_checks(args.timeout)
    healthy = all(check.ok for check in checks)
    if args.json:
        print(json.dumps({"ok": healthy, "checks": [check.as_dict() for check in checks]}, indent=2))
    else:
        width = max(len(check.name) for check in checks)
        for check in checks:
            print(f"{'ok' if check.ok else 'FAIL':<5} {check.name:<{width}}  {check.detail}")
    return 0 if healthy else 1


def collect_checks(timeout: float) -> list[CheckResult]:
    """Every check against the configuration in the environment; a configuration that cannot load is one FAIL."""
    try:
        settings = Settings.from_env()
        app = Application(settings)
    except ValueError as error:
        return [CheckResult("configuration", False, str(error), True)]
    checks = [*database_checks(lambda: app.engine), storage_check(settings.storage_dir),
              *provider_checks(settings, timeout),
              daemon_check_of(lambda: open_heartbeat_instance(settings.dagster_home))]
    return [_located(check, app) for check in checks]


def _located(check: CheckResult, app: Application) -> CheckResult:
    """Where each check looked: for the person at this machine (GET /health keeps these to itself)."""
    where = {"database": lambda: app.engine.url.render_as_string(hide_password=True),
             "storage": lambda: str(app.settings.storage_dir),
             "daemon": lambda: f"DAGSTER_HOME={app.settings.dagster_home}"}.get(check.name)
    if where is None or (check.name == "database" and not check.ok):
        return check
    return dataclasses.replace(check, detail=f"{check.detail} [{where()}]")
