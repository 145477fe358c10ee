"""The test-control routes of the simulators: GET/POST /_faults, GET /_stats, POST /_stats/reset, GET/POST /_limits."""

from __future__ import annotations

import json
from typing import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ingest_pipeline.simulators.openai_protocol import ApiError
from ingest_pipeline.simulators.openai_ratelimit import LIMIT_NAMES, validated_limits


def add_control_routes(app: FastAPI, faults, stats, reseed: Callable[[], None]) -> None:
    """`faults` has to_dict()/update(); `stats` has snapshot()/reset(); `reseed` restarts the fault draws."""

    @app.get("/_faults")
    async def get_faults() -> dict:
        return faults.to_dict()

    @app.post("/_faults")
    async def set_faults(request: Request) -> JSONResponse:
        changes, refusal = await _apply_json(request, faults.update)
        if refusal is not None:
            return refusal
        if "seed" in changes:
            # Posting a seed, even the current one, restarts its sequence: a test can replay a run.
            reseed()
        return JSONResponse(faults.to_dict())

    @app.get("/_stats")
    async def get_stats() -> dict:
        return stats.snapshot()

    @app.post("/_stats/reset")
    async def reset_stats() -> dict:
        stats.reset()
        return stats.snapshot()


def add_limit_routes(app: FastAPI, limits) -> None:
    """GET/POST /_limits over `limits`, whose live `rpm` and `tpm` (None: no limit) the server reads per request.

    A POST sets only the keys it names, null removing that limit; the very next request sees the change.
    """

    def assign(changes: object) -> None:
        # No await between the assignments: the event loop never serves a request that sees half of them.
        for name, value in validated_limits(changes).items():
            setattr(limits, name, value)

    @app.get("/_limits")
    async def get_limits() -> dict:
        return {name: getattr(limits, name) for name in LIMIT_NAMES}

    @app.post("/_limits")
    async def set_limits(request: Request) -> JSONResponse:
        _, refusal = await _apply_json(request, assign)
        return refusal if refusal is not None else JSONResponse(await get_limits())


async def _apply_json(request: Request, apply: Callable[[object], None]) -> tuple[object, JSONResponse | None]:
    """Hand the parsed body (empty: no change) to `apply`; on invalid JSON or settings, also the 400 to answer."""
    try:
        changes = json.loads(await request.body() or b"{}")
        apply(changes)
    except ValueError as error:
        return None, JSONResponse(ApiError(400, f"Invalid JSON: {error}.").body(), status_code=400)
    except ApiError as error:
        return None, JSONResponse(error.body(), status_code=error.status)
    return changes, None
