"""The OpenAI simulator's rate limits: continuous buckets, OpenAI's headers and 429s, limits and latency set live."""

from __future__ import annotations

import httpx
import openai
import pytest

from ingest_pipeline.cli.main import build_parser
from ingest_pipeline.simulators.openai_api import FaultConfig, SimulatorConfig, running_simulator
from ingest_pipeline.simulators.openai_ratelimit import UNLIMITED, TokenBucketLimiter, format_duration

SMALL = "text-embedding-3-small"


def control(base_url: str, path: str) -> str:
    return base_url.removesuffix("/v1") + path


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def rate_headers(verdict) -> dict[str, str]:
    """remaining/reset of both buckets, the part of the headers a step changes."""
    short = {name.removeprefix("x-ratelimit-"): value for name, value in verdict.headers.items()}
    return {name: value for name, value in short.items() if not name.startswith("limit-")}


def test_buckets_refill_continuously_and_each_advertises_its_own_reset():
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)
    first = limiter.admit(5, rpm=60, tpm=600)
    # 59 of 60 requests left, 1 s to refill one; 595 of 600 tokens left, 0.5 s to refill 5 at 10 per second.
    assert rate_headers(first) == {
        "remaining-requests": "59", "reset-requests": "1s", "remaining-tokens": "595", "reset-tokens": "500ms",
    }
    for _ in range(59):
        assert limiter.admit(5, rpm=60, tpm=600).exceeded is None
    refused = limiter.admit(5, rpm=60, tpm=600)
    assert (refused.exceeded, refused.retry_after_seconds, refused.limit, refused.used) == ("requests", 1.0, 60, 60)
    assert rate_headers(refused) == {
        "remaining-requests": "0", "reset-requests": "1m0s", "remaining-tokens": "300", "reset-tokens": "30s",
    }
    clock.now = 1.0  # one request and ten tokens flowed back in
    admitted = limiter.admit(5, rpm=60, tpm=600)
    assert admitted.exceeded is None
    assert rate_headers(admitted) == {
        "remaining-requests": "0", "reset-requests": "1m0s", "remaining-tokens": "305", "reset-tokens": "29.5s",
    }


def test_tpm_refusal_waits_exactly_until_the_tokens_are_back_and_debits_nothing():
    clock = FakeClock()
    limiter = TokenBucketLimiter(clock=clock)
    assert limiter.admit(500, rpm=100, tpm=600).exceeded is None  # 100 tokens left, refilled at 10 per second
    refused = limiter.admit(250, rpm=100, tpm=600)
    assert (refused.exceeded, refused.retry_after_seconds, refused.limit, refused.used) == ("tokens", 15.0, 600, 500)
    assert rate_headers(refused)["remaining-requests"] == "99" and rate_headers(refused)["remaining-tokens"] == "100"
    clock.now = 15.0
    assert rate_headers(limiter.admit(250, rpm=100, tpm=600))["remaining-tokens"] == "0"


def test_a_request_larger_than_the_bucket_is_never_admitted():
    limiter = TokenBucketLimiter(clock=FakeClock())
    refused = limiter.admit(601, rpm=None, tpm=600)
    assert (refused.exceeded, refused.retry_after_seconds) == ("tokens", 60.0)
    assert rate_headers(refused)["remaining-tokens"] == "600"


def test_lowering_a_limit_clamps_the_bucket_and_raising_it_adds_the_increase():
    limiter = TokenBucketLimiter(clock=FakeClock())
    limiter.admit(100, rpm=None, tpm=600)  # 500 left
    assert limiter.headers(rpm=None, tpm=300)["x-ratelimit-remaining-tokens"] == "300"
    limiter.admit(200, rpm=None, tpm=300)  # 100 left
    raised = limiter.headers(rpm=None, tpm=1000)
    assert raised["x-ratelimit-remaining-tokens"] == "800"
    assert raised["x-ratelimit-reset-tokens"] == "12s"  # 200 missing at 1000/60 per second
    unlimited = limiter.headers(rpm=None, tpm=None)
    assert unlimited["x-ratelimit-limit-tokens"] == unlimited["x-ratelimit-remaining-tokens"] == str(UNLIMITED)
    assert unlimited["x-ratelimit-reset-tokens"] == "0s"
    assert limiter.headers(rpm=None, tpm=50)["x-ratelimit-remaining-tokens"] == "50"  # a new limit starts full


def test_over_the_limit_the_real_client_gets_429_with_retry_after_ms():
    with running_simulator(SimulatorConfig(rpm=1, tpm=5)) as url:
        client = openai.OpenAI(base_url=url, api_key="any", max_retries=0)
        admitted = client.embeddings.with_raw_response.create(model=SMALL, input="x")
        assert admitted.headers["x-ratelimit-remaining-requests"] == "0"
        with pytest.raises(openai.RateLimitError) as raised:
            client.embeddings.create(model=SMALL, input="x")
    assert raised.value.type == "requests" and raised.value.code == "rate_limit_exceeded"
    milliseconds = int(raised.value.response.headers["retry-after-ms"])
    assert 0 < milliseconds <= 60_000
    assert raised.value.response.headers["retry-after"] == str(-(-milliseconds // 1000))
    assert "on requests per min (RPM): Limit 1, Used 1, Requested 1." in raised.value.message


def test_tpm_limit_answers_429_for_a_request_that_would_pass_it():
    with running_simulator(SimulatorConfig(tpm=5)) as url:
        client = openai.OpenAI(base_url=url, api_key="any", max_retries=0)
        client.embeddings.create(model=SMALL, input="one two three")
        with pytest.raises(openai.RateLimitError) as raised:
            client.embeddings.create(model=SMALL, input="four five six")
    assert raised.value.type == "tokens"
    assert "on tokens per min (TPM): Limit 5, Used 3, Requested 3." in raised.value.message


def test_limits_can_be_changed_over_http():
    config = SimulatorConfig(tpm=5)
    with running_simulator(config) as url:
        client = openai.OpenAI(base_url=url, api_key="any", max_retries=0)
        assert httpx.get(control(url, "/_limits")).json() == {"rpm": None, "tpm": 5}
        assert httpx.post(control(url, "/_limits"), json={"tpm": 1000}).json() == {"rpm": None, "tpm": 1000}
        headers = client.embeddings.with_raw_response.create(model=SMALL, input="x").headers
        assert headers["x-ratelimit-limit-tokens"] == "1000" == str(config.tpm)
        assert headers["x-ratelimit-limit-requests"] == str(UNLIMITED)
        httpx.post(control(url, "/_limits"), json={"rpm": 7, "tpm": None})
        headers = client.embeddings.with_raw_response.create(model=SMALL, input="x").headers
        assert (headers["x-ratelimit-limit-requests"], headers["x-ratelimit-limit-tokens"]) == ("7", str(UNLIMITED))
        for invalid in ({"tpm": 0}, {"rpm": -1}, {"rpm": 1.5}, {"tpm": "5"}, {"rpm": True}, {"burst": 1}, [1]):
            refused = httpx.post(control(url, "/_limits"), json=invalid)
            assert refused.status_code == 400 and refused.json()["error"]["type"] == "invalid_request_error"
        assert httpx.get(control(url, "/_limits")).json() == {"rpm": 7, "tpm": None}


def test_latency_delays_every_answer():
    with running_simulator(SimulatorConfig(faults=FaultConfig(latency_seconds=0.5))) as url:
        client = openai.OpenAI(base_url=url, api_key="any", max_retries=0)
        with pytest.raises(openai.APITimeoutError):
            client.embeddings.create(model=SMALL, input="x", timeout=0.05)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (0.02, "20ms"), (1, "1s"), (1.5, "1.5s"), (360, "6m0s"), (3723, "1h2m3s")]
)
def test_durations_are_written_as_openai_does(seconds, text):
    assert format_duration(seconds) == text


def test_cli_flags_map_onto_the_fault_settings():
    parser = build_parser()
    simulate = ["simulate", "openai"]
    args = parser.parse_args(simulate + ["--port", "9000", "--rpm", "60", "--fault-500", "0.1", "--slow-seconds", "0.5",
                                         "--latency-seconds", "0.25"])
    assert (args.port, args.rpm, args.tpm, args.probability_500, args.slow_seconds) == (9000, 60, None, 0.1, 0.5)
    assert args.latency_seconds == 0.25 and parser.parse_args(simulate).latency_seconds == 0.0
    for invalid in (["--fault-drop", "1.5"], ["--tpm", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(simulate + invalid)
