"""Seconds from a LlamaParse job's completion to its document being `embedded`, with `dagster dev`, the ingest API
and the LlamaParse and OpenAI simulators as a user runs them, for delivered and lost webhooks, and the status
requests each job cost.

    python3 -m benchmarks.parse_latency [--documents 40] [--job-seconds 5-30] [--drop 0.25] [--seed 23]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from ingest_pipeline.orchestration.runs import packaged_instance_config
from ingest_pipeline.settings import VARIABLES
from ingest_pipeline.store.embedded import embedded_database_url
from ingest_pipeline_tests import dagster_dev_server

REPOSITORY = Path(__file__).resolve().parents[1]
WORDS = ("heron egret tide kelp fjord dune marsh otter raft meadow alpine basalt cedar delta estuary glacier "
         "harbour island lagoon moraine plateau reef savanna tundra valley willow").split()
_JOB_ROWS = ("SELECT d.id, d.status, j.job_id, extract(epoch FROM j.finished_at), extract(epoch FROM j.requested_at), "
             "extract(epoch FROM j.consumed_at) FROM documents d LEFT JOIN parse_jobs j ON j.job_id = d.parse_job_id")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="parse-latency-") as folder:
        home = Path(args.keep or folder)
        home.mkdir(parents=True, exist_ok=True)
        environment = _environment(home, embedded_database_url(home / "ingest"), args)
        # The instance the CLI makes (README: `DAGSTER_HOME=$PWD/.ingest/dagster dagster dev`): its storage in
        # the pipeline's Postgres, its queue looked at every second.
        (home / "dagster").mkdir()
        shutil.copyfile(packaged_instance_config(), home / "dagster" / "dagster.yaml")
        servers = [_serve(home, environment, "llamaparse", args.llamaparse_port, "--job-seconds", args.job_seconds,
                          "--fault-webhook-drop", str(args.drop), "--seed", str(args.seed)),
                   _serve(home, environment, "openai", args.openai_port),
                   _serve(home, environment, "api", args.api_port)]
        dagster = None
        try:
            _wait_for(f"{_url(args.llamaparse_port)}/_stats", f"{_url(args.openai_port)}/_stats",
                      f"{_url(args.api_port)}/health")
            dagster = dagster_dev_server.start(REPOSITORY / "workspace.yaml", environment, home / "dagster-dev.log")
            _upload(args.api_port, args.documents, args.seed)
            seen = _watch(environment["INGEST_DATABASE_URL"], args.documents, args.timeout)
            jobs = {job["id"]: job for job in httpx.get(f"{_url(args.llamaparse_port)}/_jobs").json()}
            stats = httpx.get(f"{_url(args.llamaparse_port)}/_stats").json()
            _report(seen, jobs, stats, args)
        finally:
            if dagster is not None:
                dagster_dev_server.stop(dagster)
            for server in servers:
                _stop(server)
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--job-seconds", default="5-30", help="simulated job durations: fixed or LOW-HIGH")
    parser.add_argument("--drop", type=float, default=0.25, help="share of webhooks lost")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", help="work in this new folder and keep it (logs, database) instead of a temporary one")
    parser.add_argument("--llamaparse-port", type=int, default=18200)
    parser.add_argument("--openai-port", type=int, default=18100)
    parser.add_argument("--api-port", type=int, default=18300)
    return parser.parse_args(argv)


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _environment(home: Path, database_url: str, args: argparse.Namespace) -> dict[str, str]:
    """Every setting at its default but the wiring to the simulators, whatever the caller's shell exports."""
    inherited = {name: value for name, value in os.environ.items() if name not in {v.name for v in VARIABLES}}
    return {**inherited, "INGEST_HOME": str(home / "ingest"), "DAGSTER_HOME": str(home / "dagster"),
            "INGEST_DATABASE_URL": database_url, "INGEST_PARSER": "llamaparse", "LLAMA_CLOUD_API_KEY": "llx-bench",
            "LLAMA_CLOUD_BASE_URL": _url(args.llamaparse_port), "INGEST_PUBLIC_URL": _url(args.api_port),
            "INGEST_WEBHOOK_SECRET": "bench-secret", "INGEST_EMBEDDER": "openai", "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": f"{_url(args.openai_port)}/v1"}


def _serve(home: Path, environment: dict[str, str], service: str, port: int, *flags: str) -> subprocess.Popen:
    command = ["simulate", service] if service != "api" else ["api"]
    log = open(home / f"{service}.log", "wb")
    return subprocess.Popen([str(Path(sys.executable).parent / "ingest-pipeline"), *command, "--port", str(port),
                             *flags], env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for(*urls: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
            time.sleep(0.2)


def _upload(port: int, documents: int, seed: int) -> None:
    """Distinct small text documents (identical text would be set aside as duplicates)."""
    draw = random.Random(seed)
    with httpx.Client(base_url=_url(port), timeout=60) as client:
        for number in range(documents):
            body = f"# Field notes {number}\n\n" + " ".join(draw.choice(WORDS) for _ in range(300)) + "\n"
            response = client.post("/documents", files={"file": (f"notes-{number}.md", body.encode())})
            response.raise_for_status()


def _watch(database_url: str, documents: int, timeout: float) -> dict[str, dict]:
    """Each document's job times (as Postgres recorded them) and when it was first seen `embedded`."""
    engine = create_engine(database_url)
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = conn.execute(text(_JOB_ROWS)).all()
        now = time.time()
        for doc_id, status, job_id, finished, requested, consumed in rows:
            if status == "embedded" and doc_id not in seen:
                seen[doc_id] = {"job": job_id, "embedded": now, "known": finished, "requested": requested,
                                "consumed": consumed}
        if len(rows) >= documents and all(status in ("embedded", "failed") for _, status, *_ in rows):
            break
        time.sleep(0.1)
    engine.dispose()
    return seen


def _report(seen: dict[str, dict], jobs: dict[str, dict], stats: dict, args: argparse.Namespace) -> None:
    groups = {"delivered": [], "lost": []}
    for doc in seen.values():
        job = jobs[doc["job"]]
        groups["lost" if job["webhook_dropped"] else "delivered"].append((job, doc))
    print(f"{len(seen)} of {args.documents} documents embedded; jobs of {args.job_seconds} s, "
          f"{args.drop:.0%} of webhooks lost (seed {args.seed}); load average at the end "
          + " ".join(f"{load:.1f}" for load in os.getloadavg()) + f" on {os.cpu_count()} cores")
    print(f"{'webhook':<10}{'n':>4}{'p50 s':>8}{'p99 s':>8}{'max s':>8}  median seconds: known / requested / "
          "fetched / embedded after completion")
    for name, pairs in groups.items():
        latency = sorted(doc["embedded"] - job["finished_at"] for job, doc in pairs)
        steps = [_median([float(doc[key]) - job["finished_at"] for job, doc in pairs if doc[key] is not None])
                 for key in ("known", "requested", "consumed")]
        print(f"{name:<10}{len(pairs):>4}{_quantile(latency, 0.5):>8.1f}{_quantile(latency, 0.99):>8.1f}"
              f"{max(latency, default=float('nan')):>8.1f}  " + " / ".join(f"{s:.1f}" for s in steps)
              + f" / {_median(latency):.1f}")
    checks = [job["status_reads"] + job["listed"] for job in jobs.values()]
    requests = stats.get("status_lists", 0) + sum(job["status_reads"] for job in jobs.values())
    print(f"status checks per job: mean {sum(checks) / len(checks):.1f}, max {max(checks)} "
          f"(each a place in a list request or a GET of one job); status requests per job: "
          f"{requests / len(jobs):.2f} ({stats.get('status_lists', 0)} list requests, "
          f"{requests - stats.get('status_lists', 0)} single GETs, for {len(jobs)} jobs)")


def _quantile(values: list[float], share: float) -> float:
    """Nearest-rank quantile; with a few dozen values p99 is the largest."""
    if not values:
        return float("nan")
    return sorted(values)[max(0, math.ceil(share * len(values)) - 1)]


def _median(values: list[float]) -> float:
    return _quantile(values, 0.5)


if __name__ == "__main__":
    sys.exit(main())
