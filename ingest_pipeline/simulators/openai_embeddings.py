"""The simulated POST /v1/embeddings: authentication, injected faults, validation, rate limits and vectors."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from dataclasses import dataclass, field

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from ingest_pipeline.simulators.openai_faults import FaultConfig, FaultDraw, FaultInjector
from ingest_pipeline.simulators.openai_protocol import ApiError, EmbeddingRequest, parse_embedding_request
from ingest_pipeline.simulators.openai_ratelimit import TokenBucketLimiter, format_duration
from ingest_pipeline.simulators.openai_stats import SimulatorStats
from ingest_pipeline.simulators.openai_vectors import embed_text, encode_embedding

# Where SimulatorApp puts the per-request ConnectionFate in the ASGI scope.
CONNECTION_KEY = "simulator.connection"


@dataclass
class SimulatorConfig:
    """Start-up settings plus the live objects the simulator shares with whoever started it.

    `faults`, `stats`, `rpm` and `tpm` are read on every request: change them from a test (or through POST
    /_faults and /_limits) and the running server follows. `rpm`/`tpm` None is no limit; `api_key` None accepts
    any bearer key.
    """

    api_key: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    stats: SimulatorStats = field(default_factory=SimulatorStats)


@dataclass
class ConnectionFate:
    """Set `drop` and the app hangs up instead of sending the response."""

    drop: bool = False


class EmbeddingsEndpoint:
    """The POST /v1/embeddings handler: authentication, injected faults, validation, rate limits, vectors."""

    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.injector = FaultInjector(config.faults)
        self.limiter = TokenBucketLimiter()

    async def __call__(self, request: Request) -> Response:
        # Read the body before any delay: a slow server has still received the request, and a client that
        # gives up meanwhile must not turn into a read error here.
        raw_body = await request.body()
        if self.config.faults.latency_seconds > 0:
            # The network and queueing every real answer pays, errors included, unlike the drawn `slow` fault.
            await asyncio.sleep(self.config.faults.latency_seconds)
        try:
            self._authenticate(request.headers.get("authorization", ""))
        except ApiError as error:
            return self._refuse(error, slowed=False)
        draw = self.injector.draw()
        if draw.slow:
            await asyncio.sleep(self.config.faults.slow_seconds)
        if draw.drop:
            request.scope[CONNECTION_KEY].drop = True
            self.config.stats.record("dropped", None, slowed=draw.slow)
            return Response()
        return await self._answer(raw_body, draw)

    async def _answer(self, raw_body: bytes, draw: FaultDraw) -> Response:
        try:
            _raise_injected(draw, self.config.faults)
            embedding_request = await self._parse(raw_body)
            headers = self._admit(embedding_request)
            body = await asyncio.to_thread(_response_body, embedding_request)
        except ApiError as error:
            return self._refuse(error, slowed=draw.slow)
        return self._deliver(body, headers, embedding_request, draw)

    def _authenticate(self, authorization: str) -> None:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            raise ApiError(401, message, outcome="unauthorized")
        if self.config.api_key is not None and key.strip() != self.config.api_key:
            message = (
                f"Incorrect API key provided: {key[:3]}***{key[-4:]}. "
                "You can find your API key at https://platform.openai.com/account/api-keys."
            )
            raise ApiError(401, message, code="invalid_api_key", outcome="unauthorized")

    async def _parse(self, raw_body: bytes) -> EmbeddingRequest:
        try:
            body = json.loads(raw_body)
        except ValueError as error:
            raise ApiError(400, f"We could not parse the JSON body of your request: {error}.") from error
        # Tokenizing up to 300k tokens is CPU work: keep it off the event loop so other requests proceed.
        embedding_request = await asyncio.to_thread(parse_embedding_request, body)
        marker = self.config.faults.reject_marker
        for index, text in enumerate(embedding_request.texts):
            if marker and marker in text:
                message = f"'$.input[{index}]' was rejected: it contains the simulator's reject marker {marker!r}."
                raise ApiError(400, message, param="input", code="invalid_value", outcome="rejected_marker")
        return embedding_request

    def _admit(self, embedding_request: EmbeddingRequest) -> dict[str, str]:
        tokens = embedding_request.total_tokens
        verdict = self.limiter.admit(tokens, self.config.rpm, self.config.tpm)
        if verdict.exceeded is None:
            return verdict.headers
        unit = "RPM" if verdict.exceeded == "requests" else "TPM"
        requested = 1 if verdict.exceeded == "requests" else tokens
        message = (
            f"Rate limit reached for {embedding_request.model.name} in organization org-simulator on "
            f"{verdict.exceeded} per min ({unit}): Limit {verdict.limit}, Used {verdict.used}, Requested {requested}. "
            f"Please try again in {format_duration(verdict.retry_after_seconds)}."
        )
        headers = {**verdict.headers, **_retry_after_headers(verdict.retry_after_seconds)}
        raise ApiError(
            429, message, type=verdict.exceeded, code="rate_limit_exceeded", outcome="rate_limited", headers=headers
        )

    def _deliver(self, body: bytes, headers: dict[str, str], request: EmbeddingRequest, draw: FaultDraw) -> Response:
        if draw.malformed:
            # A 200 whose JSON stops halfway, as a proxy cutting the stream would leave it.
            self.config.stats.record("malformed", 200, slowed=draw.slow)
            return Response(body[: len(body) // 2], media_type="application/json", headers=_with_request_id(headers))
        self.config.stats.record("ok", 200, slowed=draw.slow, inputs=len(request.texts), tokens=request.total_tokens)
        return Response(body, media_type="application/json", headers=_with_request_id(headers))

    def _refuse(self, error: ApiError, *, slowed: bool) -> JSONResponse:
        self.config.stats.record(error.outcome, error.status, slowed=slowed)
        headers = {**self.limiter.headers(self.config.rpm, self.config.tpm), **error.headers}
        return JSONResponse(error.body(), status_code=error.status, headers=_with_request_id(headers))


def _raise_injected(draw: FaultDraw, faults: FaultConfig) -> None:
    if draw.fail_status is not None:
        raise _injected_error(draw.fail_status, "fail_first_n", faults)
    if draw.status_429:
        raise _injected_error(429, "injected_429", faults)
    if draw.status_500:
        raise _injected_error(500, "injected_500", faults)


def _injected_error(status: int, outcome: str, faults: FaultConfig) -> ApiError:
    if status == 429:
        message = "Rate limit reached for requests (injected by the simulator). Please try again later."
        headers = _retry_after_headers(faults.retry_after_seconds)
        return ApiError(429, message, type="requests", code="rate_limit_exceeded", outcome=outcome, headers=headers)
    if status >= 500:
        message = "The server had an error while processing your request. Sorry about that!"
        return ApiError(status, message, type="server_error", outcome=outcome)
    return ApiError(status, f"Request refused with {status} (injected by the simulator).", outcome=outcome)


def _retry_after_headers(seconds: float) -> dict[str, str]:
    # Rounded up, so a client that waits exactly this long finds the bucket refilled; rounding to the
    # microsecond first drops float noise (0.05 s stays 50 ms).
    milliseconds = math.ceil(round(seconds * 1000, 3))
    return {"retry-after-ms": str(milliseconds), "retry-after": str(math.ceil(milliseconds / 1000))}


def _with_request_id(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "x-request-id": f"req_{uuid.uuid4().hex}"}


def _response_body(request: EmbeddingRequest) -> bytes:
    """Serialised by hand: FastAPI's encoder takes seconds over 2048 x 1536 floats."""
    model, dimensions = request.model.name, request.dimensions
    vectors = (embed_text(model, dimensions, text) for text in request.texts)
    data = [
        {"object": "embedding", "index": index, "embedding": encode_embedding(vector, request.encoding_format)}
        for index, vector in enumerate(vectors)
    ]
    usage = {"prompt_tokens": request.total_tokens, "total_tokens": request.total_tokens}
    return json.dumps({"object": "list", "data": data, "model": model, "usage": usage}).encode()
