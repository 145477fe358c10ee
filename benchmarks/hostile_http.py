"""Prints what hostile clients cost the real API (`ingest-pipeline api`, default settings): its memory, and /health's worst latency.

While /health is polled, 200 slow clients send a byte a second (half still on the request head, half
on an upload's body), and one sender without credentials pushes 300 MB at the webhook, chunked and
without Content-Length, reconnecting whenever the API cuts it off. Goals: RSS growth < 100 MB, /health < 2 s.

Usage: python -m benchmarks.hostile_http [--slow 200] [--megabytes 300] [--seconds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from ingest_pipeline.parse.webhooks import WEBHOOK_PATH

BLOCK = b"x" * 65536
CHUNK = f"{len(BLOCK):x}\r\n".encode() + BLOCK + b"\r\n"


@dataclass
class Figures:
    health: list[float] = field(default_factory=list)
    health_failures: int = 0
    peak_rss: int = 0
    dropped_after: dict[str, list[float]] = field(default_factory=lambda: {"head": [], "body": []})
    pushed: int = 0
    cut_off: int = 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_api(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "INGEST_HOME": str(home), "INGEST_WEBHOOK_SECRET": "whsec-hostile-benchmark"}
    env.pop("INGEST_API_TOKEN", None)
    return subprocess.Popen([sys.executable, "-m", "ingest_pipeline.cli.main", "api", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the API exited with {process.returncode} while starting")
        try:
            if httpx.get(url + "/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url}/health did not answer within {timeout:.0f} s")


async def slow_client(port: int, phase: str, figures: Figures, until: float) -> None:
    """A byte a second: of the head, or (after a whole head) of an upload's body; notes when the API hung up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    opened = time.monotonic()
    if phase == "body":
        writer.write(f"POST /documents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n".encode())
    trickle = b"--b\r\n" + b"x" * 1000 if phase == "body" else f"POST /documents HTTP/1.1\r\nHost: {'x' * 1000}".encode()
    try:
        for byte in trickle:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                await asyncio.wait_for(reader.read(1), timeout=1.0)
                break  # an answer (408) or the end of the connection: dropped
            except asyncio.TimeoutError:
                if time.monotonic() > until:
                    writer.close()
                    return
    except OSError:
        pass
    figures.dropped_after[phase].append(time.monotonic() - opened)
    writer.close()


async def flood_webhook(port: int, total: int, figures: Figures) -> None:
    """Unauthenticated and chunked, so the API can only count as it reads; a new connection whenever it is cut off."""
    while figures.pushed < total:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n\r\n"
                     .encode())
        try:
            while figures.pushed < total:
                writer.write(CHUNK)
                await asyncio.wait_for(writer.drain(), timeout=5)
                figures.pushed += len(BLOCK)
        except (OSError, asyncio.TimeoutError):
            figures.cut_off += 1
        writer.close()


async def poll(url: str, pid: int, figures: Figures, until: float) -> None:
    process = psutil.Process(pid)
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                ok = (await client.get(url + "/health")).status_code == 200
            except httpx.HTTPError:
                ok = False
            figures.health.append(time.perf_counter() - started)
            figures.health_failures += not ok
            figures.peak_rss = max(figures.peak_rss, process.memory_info().rss)
            await asyncio.sleep(0.1)


async def attack(port: int, pid: int, slow: int, megabytes: int, seconds: float) -> Figures:
    figures, until = Figures(), time.monotonic() + seconds
    url = f"http://127.0.0.1:{port}"
    clients = [slow_client(port, "head" if n % 2 else "body", figures, until) for n in range(slow)]
    await asyncio.gather(poll(url, pid, figures, until), flood_webhook(port, megabytes * 1024 * 1024, figures),
                         *clients)
    return figures


def report(figures: Figures, baseline: int, slow: int, megabytes: int) -> None:
    mb = 1024 * 1024
    print(f"API RSS: {baseline / mb:.0f} MB before, {figures.peak_rss / mb:.0f} MB at peak: "
          f"growth {(figures.peak_rss - baseline) / mb:.0f} MB (goal < 100 MB)")
    print(f"/health: {len(figures.health)} polls, worst {max(figures.health) * 1000:.0f} ms (goal < 2000 ms), "
          f"{figures.health_failures} not 200")
    for phase, after in figures.dropped_after.items():
        shown = f", after {min(after):.1f}-{max(after):.1f} s" if after else ""
        print(f"slow clients on the {phase}: {len(after)} of {slow // 2} dropped by the API{shown}")
    print(f"webhook flood: {figures.pushed / mb:.0f} of {megabytes} MB pushed without credentials, "
          f"{figures.cut_off} connections cut off by the API")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=40.0, help="past the default body timeout (30 s)")
    args = parser.parse_args()
    home, port = Path(tempfile.mkdtemp(prefix="ingest-hostile-bench-")), free_port()
    process = start_api(home, port)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process)
        for _ in range(20):  # warm the code paths and the connection pool before the baseline
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        baseline = psutil.Process(process.pid).memory_info().rss
        figures = asyncio.run(attack(port, process.pid, args.slow, args.megabytes, args.seconds))
    finally:
        process.terminate()
        process.wait(timeout=30)
    report(figures, baseline, args.slow, args.megabytes)


if __name__ == "__main__":
    main()
