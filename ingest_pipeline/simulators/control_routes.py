"""The test-control routes every simulator serves: GET/POST /_faults, GET /_stats, POST /_stats/reset."""

from __future__ import annotations

import json
from typing import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ingest_pipeline.simulators.openai_protocol import ApiError


def add_control_routes(app: FastAPI, faults, stats, reseed: Callable[[], None]) -> None:
    """`faults` has to_dict()/update(); `stats` has snapshot()/reset(); `reseed` restarts the fault draws."""

    @app.get("/_faults")
    async def get_faults() -> dict:
        return faults.to_dict()

    @app.post("/_faults")
    async def set_faults(request: Request) -> JSONResponse:
        try:
            changes = json.loads(await request.body() or b"{}")
            faults.update(changes)
        except ValueError as error:
            return JSONResponse(ApiError(400, f"Invalid JSON: {error}.").body(), status_code=400)
        except ApiError as error:
            return JSONResponse(error.body(), status_code=error.status)
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
