"""The provider circuit: consecutive failures pause new work with a reason, and it resumes by itself when the provider answers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ingest_pipeline.circuits import breaker as circuit_breaker
from ingest_pipeline.circuits.breaker import CircuitBreaker
from ingest_pipeline.domain.errors import ProviderPaused
from ingest_pipeline.domain.providers import OPENAI
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.simulators.openai_api import running_simulator
from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig
from ingest_pipeline.store import documents
from ingest_pipeline_tests.llamaparse_stack import run_requested, tick
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write


class SteppedClock:
    """Time that moves only when the test steps it."""

    def __init__(self):
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def step(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_the_circuit_opens_after_the_threshold_reopens_longer_on_a_failed_try_and_closes_on_success(engine):
    clock = SteppedClock()
    breaker = CircuitBreaker(engine, "provider-x", threshold=3, cooldown_seconds=0.3, clock=clock)
    for _ in range(2):
        breaker.record_failure("HTTP 500")
    breaker.check()  # two failures: still closed
    with pytest.raises(ProviderPaused, match=r"provider-x is paused after 3 consecutive errors \(last: HTTP 503\)"):
        breaker.record_failure("HTTP 503")  # the failure that opens the circuit pauses its own work too
    with pytest.raises(ProviderPaused):
        breaker.check()
    clock.step(0.35)
    breaker.check()  # the pause is over: one try may go
    with pytest.raises(ProviderPaused):
        breaker.record_failure("HTTP 500")
    clock.step(0.35)
    with pytest.raises(ProviderPaused):
        breaker.check()  # the failed try doubled the pause
    clock.step(0.3)
    breaker.check()
    breaker.record_success()
    breaker.record_failure("HTTP 500")
    breaker.check()  # success reset the count


def test_a_failing_provider_pauses_documents_with_a_reason_and_they_resume_by_themselves(environment, instance, tmp_path,
                                                                                        monkeypatch):
    clock = SteppedClock()
    monkeypatch.setattr(circuit_breaker, "current_time", clock)  # the breakers inside the resources read it too
    config = SimulatorConfig(api_key="sk-test")
    config.faults.update({"probability_500": 1.0})
    with running_simulator(config) as base_url:
        app = Application(Settings.from_env({
            **environment, "INGEST_EMBEDDER": "openai", "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-test",
            "INGEST_CIRCUIT_FAILURES": "3", "INGEST_CIRCUIT_COOLDOWN": "3"}))
        ids = [register(app, write(tmp_path, f"{i}.md", paragraph(f"tundra {i}", 20))) for i in range(3)]
        result = materialize(app, instance, ids)
        assert result.success  # paused documents wait: the step neither fails nor burns its retries
        assert config.stats.snapshot()["requests"] == 3
        with app.engine.connect() as conn:
            paused = documents.get_many(conn, ids)
        assert {(d.status, d.paused_for) for d in paused} == {(DocumentStatus.CHUNKED, OPENAI)}
        assert "openai is paused after 3 consecutive errors" in paused[0].reason
        assert [c.provider for c in app.paused_providers()] == [OPENAI]
        config.faults.update({"probability_500": 0.0})
        with app.engine.connect() as conn:
            cursor = str(documents.latest_intake_seq(conn))  # the uploads were taken: only resumption remains
        assert not tick(app, instance, "uploads_sensor", cursor).run_requests  # still paused: nothing is queued
        clock.step(3.1)
        runs = run_requested(app, instance, tick(app, instance, "uploads_sensor", cursor))
        assert len(runs) == 1 and runs[0].success
        with app.engine.connect() as conn:
            resumed = documents.get_many(conn, ids)
        assert {(d.status, d.paused_for, d.reason) for d in resumed} == {(DocumentStatus.EMBEDDED, None, None)}
        assert app.paused_providers() == []
