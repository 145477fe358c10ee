"""Prints the latency of POST /webhooks/llamaparse on loopback: signed events recorded in the embedded Postgres.

Usage: python -m benchmarks.webhook_latency [--events 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from ingest_pipeline.api.app import create_app
from ingest_pipeline.parse.webhooks import WEBHOOK_PATH, sign
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.simulators.background_server import serving_in_background

SECRET = "whsec-benchmark"


def send(client: httpx.Client, url: str) -> float:
    body = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "event_type": "parse.success",
                       "timestamp": time.time(), "data": {"id": "job_x", "job_id": "job_x"}}).encode()
    started = time.perf_counter()
    response = client.post(url + WEBHOOK_PATH, content=body,
                           headers={"Content-Type": "application/json", "LC-Signature": sign(SECRET, body)})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ingest-webhook-bench-"))
    os.chmod(home, 0o755)
    app = Application(Settings.from_env({"INGEST_HOME": str(home), "INGEST_WEBHOOK_SECRET": SECRET}))
    with serving_in_background(create_app(app), "/health", name="ingest-api") as url, httpx.Client() as client:
        for _ in range(20):
            send(client, url)  # warm the pool and the code paths
        samples = sorted(send(client, url) for _ in range(args.events))
    p50, p99 = statistics.median(samples), samples[int(len(samples) * 0.99) - 1]
    print(f"{args.events} signed webhooks on loopback, each recorded in Postgres before the answer: "
          f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {samples[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
