"""GET /health and `ingest-pipeline doctor` check database, pgvector, storage, providers (a real call) and the daemon."""

from __future__ import annotations

import json
import socket
import time

import dagster as dg
import pytest
from dagster._daemon.types import DaemonHeartbeat
from fastapi.testclient import TestClient

from ingest_pipeline.api.app import create_app
from ingest_pipeline.cli.main import main
from ingest_pipeline.orchestration.daemon_health import NO_DAEMON, daemon_check
from ingest_pipeline.service.health import provider_checks
from ingest_pipeline.settings import VARIABLES, Settings
from ingest_pipeline.simulators.llamaparse_api import ParseSimulatorConfig, running_llamaparse_simulator
from ingest_pipeline.simulators.openai_api import SimulatorConfig, running_simulator

GOOD_OPENAI_KEY, GOOD_LLAMA_KEY = "sk-doctor-good", "llx-doctor-good"


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _provider(settings: Settings, name: str):
    [check] = [check for check in provider_checks(settings, timeout=5) if check.name == name]
    return check


def test_the_openai_check_makes_one_authenticated_call(environment):
    with running_simulator(SimulatorConfig(api_key=GOOD_OPENAI_KEY)) as url:
        def embedder(key: str, base: str = url):
            return _provider(Settings.from_env({**environment, "INGEST_EMBEDDER": "openai",
                                                "OPENAI_API_KEY": key, "OPENAI_BASE_URL": base}), "embedder")
        good, wrong = embedder(GOOD_OPENAI_KEY), embedder("sk-doctor-wrong")
    assert good.ok and "key accepted" in good.detail
    assert not wrong.ok and "refused the API key (401)" in wrong.detail
    unreachable = embedder(GOOD_OPENAI_KEY, _closed_port_url() + "/v1")
    assert not unreachable.ok and "cannot reach" in unreachable.detail
    missing = embedder("")
    assert not missing.ok and "OPENAI_API_KEY is not set" in missing.detail


def test_the_llamaparse_check_makes_one_authenticated_call(environment):
    with running_llamaparse_simulator(ParseSimulatorConfig(api_key=GOOD_LLAMA_KEY)) as url:
        def parser(key: str, **more: str):
            return _provider(Settings.from_env({**environment, "INGEST_PARSER": "llamaparse", "LLAMA_CLOUD_API_KEY": key,
                                                "LLAMA_CLOUD_BASE_URL": url, **more}), "parser")
        good, wrong = parser(GOOD_LLAMA_KEY), parser("llx-doctor-wrong")
        unsigned = parser(GOOD_LLAMA_KEY, INGEST_PUBLIC_URL="https://ingest.example.com")
    assert good.ok and "key accepted" in good.detail
    assert not wrong.ok and "refused the API key (401)" in wrong.detail
    assert not unsigned.ok and "INGEST_WEBHOOK_SECRET is empty" in unsigned.detail


def _beat(instance: dg.DagsterInstance, seconds_ago: float) -> None:
    """What a running daemon writes: a heartbeat for every daemon the instance needs."""
    for kind in instance.get_required_daemon_types():
        instance.add_daemon_heartbeat(DaemonHeartbeat(time.time() - seconds_ago, kind, "test-daemon", None))


def test_the_daemon_check_reads_the_heartbeats(instance):
    absent = daemon_check(instance)
    assert not absent.ok and absent.detail.startswith(f"{NO_DAEMON}: no daemon has ever sent a heartbeat")
    _beat(instance, seconds_ago=3 * 3600)
    stale = daemon_check(instance)
    assert not stale.ok and stale.detail.startswith(f"{NO_DAEMON}: last heartbeat 3 h ago")
    _beat(instance, seconds_ago=2)
    running = daemon_check(instance)
    assert running.ok and running.detail.startswith("running:")


def test_health_lists_every_check_and_stays_available_without_a_daemon(app, instance):
    with TestClient(create_app(app, instance=instance), base_url="http://localhost") as client:
        without = client.get("/health")
        _beat(instance, seconds_ago=1)
        # Provider results are kept for a minute; the daemon is read on every call.
        with_daemon = client.get("/health").json()
    assert without.status_code == 200 and without.json()["status"] == "ok"
    checks = {check["name"]: check for check in without.json()["checks"]}
    assert list(checks) == ["database", "pgvector", "storage", "parser", "embedder", "daemon"]
    assert all(checks[name]["ok"] and checks[name]["critical"] for name in ("database", "pgvector", "storage"))
    assert checks["pgvector"]["detail"].startswith("pgvector ")
    assert not checks["daemon"]["ok"] and NO_DAEMON in checks["daemon"]["detail"]
    assert {check["name"]: check["ok"] for check in with_daemon["checks"]}["daemon"]


@pytest.fixture
def doctor_environment(monkeypatch, environment, tmp_path):
    """Only the test's settings in the environment, whatever the caller's shell exports."""
    for variable in VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)
    home = tmp_path / "dagster"
    for name, value in {**environment, "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    return home


def test_doctor_prints_a_line_per_check_and_fails_while_no_daemon_runs(doctor_environment, capsys):
    assert main(["doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", "database"], ["ok", "pgvector"], ["ok", "storage"], ["ok", "parser"], ["ok", "embedder"],
        ["FAIL", "daemon"]]
    assert NO_DAEMON in lines[-1] and f"DAGSTER_HOME={doctor_environment}" in lines[-1]
    assert "***" in lines[0] or "@" not in lines[0]  # a database password is never printed


def test_doctor_passes_with_a_live_daemon_and_speaks_json(doctor_environment, capsys):
    doctor_environment.mkdir()
    with dg.DagsterInstance.from_config(str(doctor_environment)) as instance:
        _beat(instance, seconds_ago=1)
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and [check["name"] for check in report["checks"]][-1] == "daemon"
    assert all(check["ok"] for check in report["checks"])
