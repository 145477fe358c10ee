"""Following parse jobs against the simulator with the real client: batched checks on the schedule, a webhook
ending the checks, and finished jobs handed to one run as soon as the first one finishes."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlalchemy import text

from ingest_pipeline.orchestration.sensors import FETCH_SELECTION
from ingest_pipeline.parse.tracking import TrackingReport, poll_silent, track, watch
from ingest_pipeline.parse.webhooks import SIGNATURE_HEADER, WEBHOOK_PATH, sign
from ingest_pipeline.store import parse_jobs
from ingest_pipeline_tests.llamaparse_stack import SECRET, count, llamaparse_stack, tick, wait_until
from ingest_pipeline_tests.pipeline_runs import materialize, paragraph, register, write

JOB_FIELDS = "j.status, j.checks, j.next_check_at IS NULL, extract(epoch FROM j.next_check_at - j.checked_at)"


def _submit(stack, instance, tmp_path, names: list[str]) -> list[str]:
    ids = [register(stack.app, write(tmp_path, name, paragraph(name, 20))) for name in names]
    materialize(stack.app, instance, ids)
    return ids


def _job(stack, doc_id: str):
    """(status, checks, unscheduled, seconds from the last check to the next) of the document's job."""
    with stack.app.engine.connect() as conn:
        return conn.execute(text(f"SELECT {JOB_FIELDS} FROM parse_jobs j JOIN documents d "
                                 "ON d.parse_job_id = j.job_id WHERE d.id = :id"), {"id": doc_id}).one()


def _jobs_listing(stack) -> list[dict]:
    """The simulator's own account of each job, with the requests made about it."""
    return httpx.get(stack.app.settings.llama_cloud_base_url + "/_jobs").json()


def test_due_jobs_are_checked_together_in_one_list_request(environment, instance, tmp_path):
    with llamaparse_stack(environment, job_seconds=(30.0, 30.0), INGEST_PARSE_POLL_FIRST="0") as stack:
        ids = _submit(stack, instance, tmp_path, ["moss.txt", "lichen.txt", "fern.txt"])
        with stack.app.engine.begin() as conn:  # due at once, whatever the size says
            conn.execute(text("UPDATE parse_jobs SET next_check_at = now()"))
        report = TrackingReport()
        poll_silent(stack.app.engine, stack.app.resources["parser"], report)
        stats = stack.simulator.stats.snapshot()
        assert report.polled == 3 and stats["status_lists"] == 1 and stats.get("status_polls", 0) == 0
        assert {_job(stack, doc_id)[:3] for doc_id in ids} <= {("PENDING", 1, False), ("RUNNING", 1, False)}
        assert all(job["listed"] == 1 and job["status_reads"] == 0 for job in _jobs_listing(stack))


def test_checks_back_off_up_to_the_cap(environment, instance, tmp_path):
    with llamaparse_stack(environment, INGEST_PARSE_POLL_FIRST="0", INGEST_PARSE_POLL_AFTER="5",
                          INGEST_PARSE_POLL_BACKOFF="2") as stack:
        stack.simulator.faults.update({"probability_never_finish": 1.0})
        (doc_id,) = _submit(stack, instance, tmp_path, ["abyss.txt"])
        gaps = []
        for age in (1, 3, 10):
            with stack.app.engine.begin() as conn:  # checked when the job is `age` seconds old
                conn.execute(text("UPDATE parse_jobs SET next_check_at = now(), "
                                  "submitted_at = now() - make_interval(secs => :age)"), {"age": age})
            poll_silent(stack.app.engine, stack.app.resources["parser"], TrackingReport())
            gaps.append(_job(stack, doc_id)[3])
        # Back-off 2: the next check as long after the last as the job's age, at least 2 s, at most the 5 s cap.
        assert [round(gap) for gap in gaps] == [2, 3, 5] and _job(stack, doc_id)[1] == 3


def test_a_webhook_that_arrives_ends_the_checks(environment, instance, tmp_path):
    with llamaparse_stack(environment, INGEST_PARSE_POLL_FIRST="0") as stack:
        stack.simulator.faults.update({"probability_never_finish": 1.0})  # only our own webhook will end it
        (doc_id,) = _submit(stack, instance, tmp_path, ["heath.txt"])
        parser = stack.app.resources["parser"]
        with stack.app.engine.begin() as conn:  # due now, whatever the size says: not a race with the clock
            conn.execute(text("UPDATE parse_jobs SET next_check_at = now()"))
        poll_silent(stack.app.engine, parser, TrackingReport())  # checked once while it runs
        assert _job(stack, doc_id)[1:3] == (1, False)
        _post_signed(stack, {"event_id": str(uuid.uuid4()), "event_type": "parse.success",
                             "data": {"job_id": _document_job(stack, doc_id)}})
        report = track(stack.app.engine, parser)
        assert report.events == 1 and [doc for doc, _ in report.fetch] == [doc_id]
        assert _job(stack, doc_id)[:3] == ("COMPLETED", 1, True)
        with stack.app.engine.begin() as conn:  # however long we wait, no check is due any more
            conn.execute(text("UPDATE parse_jobs SET submitted_at = submitted_at - interval '1 hour'"))
            assert parse_jobs.due_for_poll(conn, 100) == []
        poll_silent(stack.app.engine, parser, TrackingReport())
        assert [job["listed"] + job["status_reads"] for job in _jobs_listing(stack)] == [1]


def _document_job(stack, doc_id: str) -> str:
    with stack.app.engine.connect() as conn:
        return conn.execute(text("SELECT parse_job_id FROM documents WHERE id = :id"), {"id": doc_id}).scalar_one()


def _post_signed(stack, event: dict) -> None:
    body = json.dumps(event).encode()
    response = httpx.post(stack.app.settings.public_url + WEBHOOK_PATH, content=body,
                          headers={SIGNATURE_HEADER: sign(SECRET, body), "content-type": "application/json"})
    assert response.status_code == 202


def test_finished_jobs_go_into_one_run(environment, instance, tmp_path):
    with llamaparse_stack(environment) as stack:
        ids = _submit(stack, instance, tmp_path, ["gull.txt", "tern.txt", "skua.txt", "auk.txt"])
        wait_until(lambda: count(stack.app, "SELECT count(*) FROM webhook_events") == 4, what="four webhooks")
        result = tick(stack.app, instance)
        assert [request.asset_selection for request in result.run_requests] == [FETCH_SELECTION]
        assert count(stack.app, "SELECT count(*) FROM parse_jobs WHERE requested_at IS NOT NULL") == len(ids)


def test_the_first_finished_job_is_not_held_back_for_the_others(environment, instance, tmp_path):
    with llamaparse_stack(environment) as stack:
        (quick,) = _submit(stack, instance, tmp_path, ["quick.txt"])
        stack.simulator.faults.update({"probability_never_finish": 1.0})
        (slow,) = _submit(stack, instance, tmp_path, ["slow.txt"])
        report = watch(stack.app.engine, stack.app.resources["parser"], seconds=600)
        # Back with the one finished job while the other is still open: it did not wait for it.
        assert [doc for doc, _ in report.fetch] == [quick]
        assert _job(stack, slow)[2] is False and stack.simulator.stats.snapshot()["jobs_completed"] == 1


def test_a_watch_with_no_open_job_returns_at_once(environment, instance, tmp_path):
    with llamaparse_stack(environment) as stack:
        report = watch(stack.app.engine, stack.app.resources["parser"], seconds=60,
                       sleep=lambda seconds: (_ for _ in ()).throw(AssertionError("the watch waited")))
        assert report.fetch == [] and report.polled == 0
