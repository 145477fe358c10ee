"""The OpenAI simulator answers the real `openai` client as the embeddings API would, limits, errors and faults included."""

from __future__ import annotations

import base64
import dataclasses
import json

import httpx
import numpy as np
import openai
import pytest

from ingest_pipeline.simulators.openai_api import FaultConfig, SimulatorConfig, running_simulator
from ingest_pipeline.simulators.openai_protocol import MAX_INPUT_TOKENS, MAX_INPUTS, MAX_REQUEST_TOKENS, MODELS, tokenizer

KEY = "sk-simulator-test"
SMALL = "text-embedding-3-small"


@pytest.fixture(scope="module")
def config() -> SimulatorConfig:
    return SimulatorConfig(api_key=KEY)


@pytest.fixture(scope="module")
def base_url(config):
    with running_simulator(config) as url:
        yield url


@pytest.fixture(autouse=True)
def clean_slate(config):
    """Tests share one server; each starts with no faults and zeroed statistics."""
    for field in dataclasses.fields(FaultConfig):
        setattr(config.faults, field.name, field.default)
    config.stats.reset()


@pytest.fixture
def client(base_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)


def control(base_url: str, path: str) -> str:
    return base_url.removesuffix("/v1") + path


def cosine(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_float_and_base64_answers_decode_to_the_same_unit_vectors(client):
    texts = ["The cat sat on the mat.", "Quarterly revenue grew by 4%."]
    decoded_by_client = client.embeddings.create(model=SMALL, input=texts)  # the client asks for base64
    as_floats = client.embeddings.create(model=SMALL, input=texts, encoding_format="float")
    as_base64 = client.embeddings.create(model=SMALL, input=texts, encoding_format="base64")
    for index in range(2):
        raw = np.frombuffer(base64.b64decode(as_base64.data[index].embedding), dtype="<f4").tolist()
        assert decoded_by_client.data[index].embedding == as_floats.data[index].embedding == raw
        assert np.linalg.norm(raw) == pytest.approx(1.0, abs=1e-5)
    assert [item.index for item in as_floats.data] == [0, 1]


def test_vectors_are_deterministic_and_lexical(client):
    texts = ["the cat sat on the mat", "a cat on a mat", "quarterly revenue grew", "the cat sat on the mat"]
    cat, kitten, revenue, cat_again = (item.embedding for item in client.embeddings.create(model=SMALL, input=texts).data)
    assert cat == cat_again
    # Bag of words: three shared words of five give about 0.45; unrelated texts stay near 0.
    assert cosine(cat, kitten) > 0.3 > abs(cosine(cat, revenue))


@pytest.mark.parametrize(
    ("model", "dimensions", "expected"),
    [
        (SMALL, None, 1536), (SMALL, 256, 256),
        ("text-embedding-3-large", None, 3072),
        ("text-embedding-ada-002", None, 1536),
    ],
)
def test_dimensions(client, model, dimensions, expected):
    extra = {} if dimensions is None else {"dimensions": dimensions}
    response = client.embeddings.create(model=model, input="hello", **extra)
    assert len(response.data[0].embedding) == expected == (dimensions or MODELS[model].dimensions)


def test_usage_counts_cl100k_tokens_and_token_arrays_embed_like_their_text(client):
    texts = ["Hello, world!", "Tokenizers split text into pieces."]
    expected = sum(len(tokenizer().encode(text)) for text in texts)
    assert client.embeddings.create(model=SMALL, input=texts).usage.prompt_tokens == expected
    tokens = tokenizer().encode(texts[0])
    response = client.embeddings.create(model=SMALL, input=[texts[0], tokens])
    assert response.usage.prompt_tokens == response.usage.total_tokens == 2 * len(tokens)
    assert response.data[0].embedding == response.data[1].embedding  # a token array embeds like its text


@pytest.mark.parametrize(
    ("request_fields", "param", "code"),
    [
        pytest.param({"input": ["x"] * (MAX_INPUTS + 1)}, "input", "too_many_inputs", id="too-many-inputs"),
        pytest.param({"input": [[1000] * (MAX_INPUT_TOKENS + 1)]}, "input", "context_length_exceeded", id="input-too-long"),
        pytest.param(
            {"input": [[1000] * MAX_INPUT_TOKENS] * (MAX_REQUEST_TOKENS // MAX_INPUT_TOKENS + 1)},
            "input", "max_tokens_per_request", id="request-too-large",
        ),
        pytest.param({"input": ["fine", ""]}, "input", "empty_input", id="empty-string"),
        pytest.param({"input": "x", "dimensions": 0}, "dimensions", "integer_below_min_value", id="dimensions-zero"),
        pytest.param({"input": "x", "dimensions": MODELS[SMALL].dimensions + 1}, "dimensions", "integer_above_max_value", id="dimensions-too-big"),
        pytest.param(
            {"input": "x", "model": "text-embedding-ada-002", "dimensions": 8}, "dimensions", None, id="ada-dimensions"
        ),
    ],
)
def test_limits_answer_400_in_the_real_error_shape(client, config, request_fields, param, code):
    with pytest.raises(openai.BadRequestError) as raised:
        client.embeddings.create(**{"model": SMALL, **request_fields})
    assert raised.value.status_code == 400
    assert raised.value.type == "invalid_request_error"
    assert (raised.value.param, raised.value.code) == (param, code)
    assert set(raised.value.response.json()["error"]) == {"message", "type", "param", "code"}
    assert config.stats.snapshot()["by_outcome"] == {"invalid_request": 1}


def test_unknown_model_is_404_as_in_the_real_api(client):
    with pytest.raises(openai.NotFoundError) as raised:
        client.embeddings.create(model="text-embedding-4-imaginary", input="x")
    assert raised.value.code == "model_not_found"


def test_wrong_or_missing_key_is_401(base_url):
    with pytest.raises(openai.AuthenticationError) as raised:
        openai.OpenAI(base_url=base_url, api_key="sk-wrong", max_retries=0).embeddings.create(model=SMALL, input="x")
    assert raised.value.code == "invalid_api_key"
    anonymous = httpx.post(f"{base_url}/embeddings", json={"model": SMALL, "input": "x"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "invalid_request_error"


def test_every_answer_carries_rate_limit_headers(client):
    raw = client.embeddings.with_raw_response.create(model=SMALL, input="x")
    for unit in ("requests", "tokens"):
        assert int(raw.headers[f"x-ratelimit-limit-{unit}"]) >= int(raw.headers[f"x-ratelimit-remaining-{unit}"])
        assert raw.headers[f"x-ratelimit-reset-{unit}"].endswith("s")
    assert raw.parse().data[0].index == 0


def test_injected_429_advertises_retry_after(client, config):
    config.faults.probability_429, config.faults.retry_after_seconds = 1.0, 0.25
    with pytest.raises(openai.RateLimitError) as raised:
        client.embeddings.with_raw_response.create(model=SMALL, input="x")
    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.response.headers["retry-after-ms"] == "250"
    assert raised.value.response.headers["retry-after"] == "1"
    assert "x-ratelimit-remaining-requests" in raised.value.response.headers


def test_the_client_retries_after_an_injected_429(base_url, config):
    config.faults.fail_first_n, config.faults.fail_status, config.faults.retry_after_seconds = 1, 429, 0.05
    patient = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=1)
    assert patient.embeddings.create(model=SMALL, input="x").data
    assert config.stats.snapshot()["by_outcome"] == {"fail_first_n": 1, "ok": 1}


def test_injected_500(client, config):
    config.faults.probability_500 = 1.0
    with pytest.raises(openai.InternalServerError) as raised:
        client.embeddings.create(model=SMALL, input="x")
    assert raised.value.status_code == 500 and raised.value.type == "server_error"


def test_malformed_body_surfaces_as_a_bare_json_error(client, config):
    config.faults.probability_malformed = 1.0
    # Not an openai.APIError: the client does not wrap (or retry) a 200 whose JSON is cut short.
    with pytest.raises(json.JSONDecodeError):
        client.embeddings.create(model=SMALL, input="x")


def test_dropped_connection_is_a_connection_error(client, config):
    config.faults.probability_drop = 1.0
    with pytest.raises(openai.APIConnectionError) as raised:
        client.embeddings.create(model=SMALL, input="x")
    assert not isinstance(raised.value, openai.APITimeoutError)
    assert config.stats.snapshot()["by_outcome"] == {"dropped": 1}


def test_slow_answer_trips_the_client_timeout(client, config):
    config.faults.probability_slow, config.faults.slow_seconds = 1.0, 0.3
    with pytest.raises(openai.APITimeoutError):
        client.embeddings.create(model=SMALL, input="x", timeout=0.05)


def test_faults_can_be_changed_over_http(client, base_url, config):
    answer = httpx.post(control(base_url, "/_faults"), json={"probability_500": 1.0})
    assert answer.json()["probability_500"] == 1.0 == config.faults.probability_500
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model=SMALL, input="x")
    assert httpx.post(control(base_url, "/_faults"), json={"probability_500": 2}).status_code == 400
    assert httpx.post(control(base_url, "/_faults"), json={"no_such_fault": 1}).status_code == 400
    assert httpx.post(control(base_url, "/_faults"), json={"latency_seconds": -0.1}).status_code == 400
    assert httpx.post(control(base_url, "/_faults"), json={"latency_seconds": 0.01}).json()["latency_seconds"] == 0.01
    assert httpx.get(control(base_url, "/_faults")).json() == config.faults.to_dict()


def test_fail_first_n_fails_exactly_n_requests(client, config):
    config.faults.fail_first_n, config.faults.fail_status = 2, 503
    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as raised:
            client.embeddings.create(model=SMALL, input="x")
        assert raised.value.status_code == 503
    assert client.embeddings.create(model=SMALL, input="x").data
    assert config.faults.fail_first_n == 0


def test_reject_marker_lets_batch_splitting_isolate_one_input(client, config):
    config.faults.reject_marker = "POISON"
    batch = ["fine", "has POISON inside", "also fine"]
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=SMALL, input=batch)
    assert len(client.embeddings.create(model=SMALL, input=[batch[0], batch[2]]).data) == 2
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=SMALL, input=[batch[1]])


def test_a_seed_replays_the_same_faults(client, base_url):
    def outcomes() -> list[str]:
        results = []
        for _ in range(12):
            try:
                client.embeddings.create(model=SMALL, input="x")
                results.append("ok")
            except openai.InternalServerError:
                results.append("500")
        return results

    httpx.post(control(base_url, "/_faults"), json={"probability_500": 0.5, "seed": 7})
    first = outcomes()
    httpx.post(control(base_url, "/_faults"), json={"seed": 7})
    assert outcomes() == first and {"ok", "500"} == set(first)


def test_stats_count_requests_inputs_and_tokens(client, base_url, config):
    client.embeddings.create(model=SMALL, input=["one", "two words"])
    config.faults.probability_500 = 1.0
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model=SMALL, input="x")
    stats = httpx.get(control(base_url, "/_stats")).json()
    assert stats == config.stats.snapshot()
    assert stats["requests"] == 2 and stats["inputs"] == 2 and stats["tokens"] == 3
    assert stats["by_outcome"] == {"ok": 1, "injected_500": 1}
    assert stats["by_status"] == {"200": 1, "500": 1}
    assert httpx.post(control(base_url, "/_stats/reset")).json()["requests"] == 0
