"""`dagster dev` as a test fixture: started on a free port, awaited until the code location loads, stopped by its id."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

LOCATION = "ingest_pipeline"
_WORKSPACE_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


class GraphQLError(RuntimeError):
    pass


@dataclass(frozen=True)
class DagsterDev:
    url: str
    process: subprocess.Popen
    log: Path

    def graphql(self, query: str, **variables) -> dict:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise GraphQLError(f"{response.status_code}: {body.get('errors')}")
        return body["data"]

    def log_tail(self, characters: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-characters:]


def start(workspace: Path, environment: dict[str, str], log: Path, timeout: float = 180) -> DagsterDev:
    """Start `dagster dev` (webserver and daemon) on the workspace; returns once its location has loaded."""
    port = _free_port()
    dagster = Path(sys.executable).parent / "dagster"
    with open(log, "wb") as output:
        # A session of its own, so that stopping it reaches the webserver, daemon and code server it starts.
        # SIGINT is reset because a test run started in the background inherits it ignored, and dagster
        # dev maps SIGTERM to whatever SIGINT does: it could then not be stopped gracefully at all.
        process = subprocess.Popen(
            [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
            cwd=workspace.parent, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    server = DagsterDev(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_loaded(server, timeout)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: DagsterDev, grace: float = 30) -> None:
    """Interrupt the session as Ctrl+C in a terminal would, then end it if it lingers."""
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGINT)
        try:
            server.process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        # Whatever of the session outlived dagster dev (a run still going, a stuck code server).
        os.killpg(server.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.process.wait()


def _wait_until_loaded(server: DagsterDev, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"dagster dev exited with {server.process.returncode}:\n{server.log_tail()}")
        entry = _location_entry(server)
        if entry and entry["loadStatus"] == "LOADED":
            loaded = entry["locationOrLoadError"]
            if loaded["__typename"] == "PythonError":
                raise RuntimeError(f"the code location failed to load: {loaded['message']}")
            return
        time.sleep(0.5)
    raise TimeoutError(f"dagster dev did not load {LOCATION} within {timeout:.0f} s:\n{server.log_tail()}")


def _location_entry(server: DagsterDev) -> dict | None:
    try:
        entries = server.graphql(_WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
    except (httpx.HTTPError, GraphQLError, ValueError):
        return None  # the webserver is still starting
    return next((entry for entry in entries if entry["name"] == LOCATION), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
