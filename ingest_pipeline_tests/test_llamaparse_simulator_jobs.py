"""The LlamaParse simulator's job durations (fixed or drawn from a range) and its job list, read with the real client."""

from __future__ import annotations

import argparse

import pytest
from llama_cloud import LlamaCloud

from ingest_pipeline.cli.simulate_command import _seconds_or_range
from ingest_pipeline.parse.llamaparse import LlamaParseResource
from ingest_pipeline.simulators.llamaparse_api import ParseSimulatorConfig, running_llamaparse_simulator
from ingest_pipeline.simulators.llamaparse_jobs import JobDurations, JobRunner
from ingest_pipeline.simulators.llamaparse_stats import ParseStats
from ingest_pipeline.simulators.llamaparse_webhooks import DeliverySettings, WebhookSender

KEY = "llx-jobs"


def _runner(durations: JobDurations) -> JobRunner:
    return JobRunner(ParseStats(), WebhookSender(DeliverySettings(), ParseStats()), durations)


def test_a_fixed_duration_is_a_fifth_pending_and_the_rest_running():
    assert _runner(JobDurations(seconds=(20.0, 20.0))).phases() == pytest.approx((4.0, 16.0))
    assert _runner(JobDurations(delay_seconds=0.3)).phases() == (0.3, 0.3)  # without one: the delay, twice


def test_durations_drawn_from_a_range_stay_in_it_and_repeat_with_the_seed():
    draws = [sum(_runner(JobDurations(seconds=(5.0, 30.0), seed=23)).phases()) for _ in range(2)]
    runner = _runner(JobDurations(seconds=(5.0, 30.0), seed=23))
    many = [sum(runner.phases()) for _ in range(200)]
    assert draws[0] == pytest.approx(draws[1]) == pytest.approx(many[0])
    assert 5.0 <= min(many) < 8.0 and 27.0 < max(many) <= 30.0


@pytest.mark.parametrize("text, bounds", [("20", (20.0, 20.0)), ("5-30", (5.0, 30.0)), ("0.5-1.5", (0.5, 1.5))])
def test_the_job_seconds_flag_takes_seconds_or_a_range(text, bounds):
    assert _seconds_or_range(text) == bounds


@pytest.mark.parametrize("text", ["30-5", "fast", "5-", "-3"])
def test_a_job_seconds_flag_that_is_not_a_duration_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match=text):
        _seconds_or_range(text)


def test_a_bad_range_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="low <= high"):
        JobDurations(seconds=(30.0, 5.0))


def test_the_job_list_filters_by_id_and_pages_as_the_client_expects(tmp_path):
    config = ParseSimulatorConfig(api_key=KEY, job_seconds=(30.0, 30.0))
    with running_llamaparse_simulator(config) as url:
        client = LlamaCloud(api_key=KEY, base_url=url, max_retries=0)
        ids = []
        for number in range(3):
            (tmp_path / f"{number}.txt").write_text(f"note {number}")
            with open(tmp_path / f"{number}.txt", "rb") as data:
                ids.append(client.parsing.create(tier="fast", version="latest", upload_file=(f"{number}.txt", data)).id)
        listed = list(client.parsing.list(job_ids=ids[:2], page_size=1))  # two pages, followed by the client
        assert sorted(job.id for job in listed) == sorted(ids[:2]) and {job.status for job in listed} == {"PENDING"}
        assert config.stats.snapshot()["status_lists"] == 2
        parser = LlamaParseResource(api_key=KEY, base_url=url, tier="fast")
        statuses = parser.statuses([*ids, "no-such-job"])
        assert sorted(statuses) == sorted(ids) and config.stats.snapshot()["status_lists"] == 3
