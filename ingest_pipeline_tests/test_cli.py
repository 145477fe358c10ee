"""`ingest-pipeline ingest / status / search` as a user runs them: a real process, the real database, Dagster runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from typing import Callable, Iterator

from fastapi.testclient import TestClient
from sqlalchemy import text

from ingest_pipeline.api.app import create_app
from ingest_pipeline.cli.output import DOCUMENT_FIELDS
from ingest_pipeline.domain.tokens import count_tokens
from ingest_pipeline_tests.bad_files import zip_bytes
from ingest_pipeline_tests.bad_inputs import REFUSED_AT_INTAKE
from ingest_pipeline_tests.pipeline_runs import paragraph, write


def _cli(environment, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, **environment}
    return subprocess.run([sys.executable, "-m", "ingest_pipeline.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def _counts(engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                     for t in ("documents", "document_pages", "chunks", "chunk_embeddings", "embedding_cache"))


def test_ingest_then_again_then_status_and_search(environment, engine, tmp_path):
    folder = tmp_path / "corpus"
    write(folder, "otters.md", "# Otters\n\n" + paragraph("sea otter raft", 30))
    write(folder, "nested/bridges.html", "<h1>Bridges</h1><p>" + paragraph("suspension cable", 30) + "</p>")
    write(folder, "notes.txt", paragraph("alpine meadow", 30))
    first = _cli(environment, "ingest", str(folder), "--json")
    assert first.returncode == 0, first.stderr
    rows = _lines(first)
    assert len(rows) == 3 and all(tuple(row) == DOCUMENT_FIELDS for row in rows)
    assert {row["status"] for row in rows} == {"embedded"}
    assert all(row["chunks"] == row["embeddings"] > 0 for row in rows)
    # Where each document is found in the Dagster UI: its file name, readable.
    assert {row["partition"].split("~")[0] for row in rows} == {"otters-md", "bridges-html", "notes-txt"}
    before = _counts(engine)

    second = _cli(environment, "ingest", str(folder), "--json")
    assert second.returncode == 0 and _lines(second) == rows
    assert _counts(engine) == before

    status = _cli(environment, "status", "--json")
    assert sorted(_lines(status), key=lambda r: r["id"]) == sorted(rows, key=lambda r: r["id"])

    search = _cli(environment, "search", "how the suspension cable behaves under condition 12", "-k", "2", "--json")
    hits = _lines(search)
    assert hits[0]["path"].endswith("bridges.html") and hits[0]["page"] == 1


def test_a_failed_document_is_reported_and_sets_the_exit_status(environment, tmp_path):
    folder = tmp_path / "mixed"
    write(folder, "fine.txt", paragraph("river delta", 20))
    write(folder, "program.txt", b"\x7fELF\x02\x01\x01" + bytes(500))
    write(folder, "tiny.txt", "see above")
    result = _cli(environment, "ingest", str(folder), str(tmp_path / "missing.pdf"), "--json")
    assert result.returncode == 1
    by_path = {os.path.basename(row["path"]): row for row in _lines(result)}
    assert by_path["fine.txt"]["status"] == "embedded"
    assert by_path["program.txt"]["status"] == "failed" and "executable" in by_path["program.txt"]["reason"]
    assert by_path["program.txt"]["failed_stage"] == by_path["missing.pdf"]["failed_stage"] == "intake"
    assert by_path["tiny.txt"]["failed_stage"] == "validated_content"
    # Refused at intake, the program was never registered: only the document that failed in a run stays.
    failed = _lines(_cli(environment, "status", "--failed", "--json"))
    assert [row["path"] for row in failed] == [by_path["tiny.txt"]["path"]]


def test_ingest_refuses_what_the_api_refuses_with_the_same_reason_and_ingests_the_rest(environment, app, instance,
                                                                                       tmp_path):
    folder = tmp_path / "mixed"
    refused = {specimen.make(folder).resolve(): specimen for specimen in REFUSED_AT_INTAKE}
    fine = write(folder, "fine.txt", paragraph("river delta", 20)).resolve()
    result = _cli(environment, "ingest", str(folder), "--json")
    assert result.returncode == 1
    rows = {row["path"]: row for row in _lines(result)}
    with TestClient(create_app(app, instance=instance), base_url="http://localhost") as client:
        api = {str(path): client.post("/documents", files={"file": (path.name, path.read_bytes())}).json()["detail"]
               for path in refused}
    assert all(specimen.reason in api[str(path)] for path, specimen in refused.items())
    cli = {str(path): (rows[str(path)]["status"], rows[str(path)]["failed_stage"], rows[str(path)]["reason"])
           for path in refused}
    assert cli == {path: ("failed", "intake", reason) for path, reason in api.items()}
    assert rows[str(fine)]["status"] == "embedded"
    assert [doc.source for doc, _ in app.documents()] == [str(fine)]


def test_register_prints_the_partition_keys_it_added_and_why_it_refused_the_rest(environment, app, tmp_path):
    archive = write(tmp_path / "in", "bundle.zip", zip_bytes({"a.txt": b"inside"})).resolve()
    write(tmp_path / "in", "notes.txt", paragraph("tide pool", 20))
    result = _cli(environment, "register", str(tmp_path / "in"))
    assert result.returncode == 1
    [(notes, _)] = app.documents()
    assert result.stdout.split() == [notes.partition_key] and notes.partition_key.startswith("notes-txt~")
    assert f"{archive}: The file is a ZIP archive" in result.stderr


def test_the_installed_command_exits_through_console():
    from importlib.metadata import entry_points

    (command,) = entry_points(group="console_scripts", name="ingest-pipeline")
    assert command.value == "ingest_pipeline.cli.main:console"


@contextmanager
def _simulating(service: str, *flags: str) -> Iterator[int]:
    """`ingest-pipeline simulate SERVICE` on a free port, stopped afterwards; yields the port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "ingest_pipeline.cli.main", "simulate", service,
                               "--port", str(port), *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def _first_answer(ask: Callable[[], object], refused: type[Exception]) -> object:
    """`ask()` again until the server started answering (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return ask()
        except refused:
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.2)


def test_simulate_openai_serves_the_real_client(environment):
    import openai

    with _simulating("openai", "--api-key", "sk-cli") as port:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-cli", max_retries=0, timeout=5)
        response = _first_answer(lambda: client.embeddings.create(model="text-embedding-3-small", input=["tide pools"]),
                                 openai.APIConnectionError)
        assert len(response.data[0].embedding) == 1536 and response.usage.prompt_tokens == count_tokens("tide pools")


def test_simulate_llamaparse_serves_and_refuses_a_bad_fault_setting(environment):
    bad = subprocess.run([sys.executable, "-m", "ingest_pipeline.cli.main", "simulate", "llamaparse",
                          "--retry-after-seconds", "-1"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("llamaparse simulator: ")

    def faults(port: int) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_faults", timeout=5) as answer:
            return json.load(answer)

    with _simulating("llamaparse", "--fault-failed", "1") as port:
        assert _first_answer(lambda: faults(port), OSError)["probability_failed"] == 1.0


def test_commands_other_than_the_servers_start_without_fastapi():
    """FastAPI and uvicorn cost a third of a second at every start; only `api` and `simulate` need them."""
    probe = "import sys, ingest_pipeline.cli.main; print(sorted({'fastapi', 'uvicorn'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_dagster_is_set_up_early_only_when_a_registered_file_owes_work(environment, app, instance, tmp_path):
    from ingest_pipeline.cli.ingest_command import register_paths
    from ingest_pipeline_tests.pipeline_runs import materialize

    folder = tmp_path / "coast"
    write(folder, "estuary.txt", paragraph("estuary", 20))
    write(folder, "lagoon.txt", paragraph("lagoon", 20))
    calls = []
    ids, _ = register_paths(app, [folder], on_work=lambda: calls.append("start"))
    assert len(calls) == 2  # once per document that owes work; DagsterSetUp.start ignores repeats
    materialize(app, instance, ids)
    calls.clear()
    assert register_paths(app, [folder], on_work=lambda: calls.append("start"))[0] == ids and calls == []
    write(folder, "lagoon.txt", paragraph("lagoon in winter", 20))
    assert register_paths(app, [folder], on_work=lambda: calls.append("start"))[0] == ids and calls == ["start"]


def test_retry_redrives_a_failed_document_once_its_cause_is_fixed(environment, app, instance, tmp_path):
    from ingest_pipeline_tests.pipeline_runs import materialize, register

    path = write(tmp_path, "field-notes.txt", paragraph("salt marsh", 20))
    doc_id = register(app, path)
    stored = app.store.path_for(_lines(_cli(environment, "status", "--json"))[0]["sha256"])
    stored.unlink()
    materialize(app, instance, [doc_id])
    assert _lines(_cli(environment, "status", "--failed", "--json"))[0]["failed_stage"] == "raw_document"
    app.store.put_file(path)
    result = _cli(environment, "retry", "--failed")
    assert result.returncode == 0, result.stderr
    assert _lines(_cli(environment, "status", "--json"))[0]["status"] == "embedded"


def test_the_cli_keeps_dagster_runs_in_the_pipeline_database_with_one_summary_line_per_stage(environment, engine, tmp_path):
    folder = tmp_path / "corpus"
    for i in range(3):
        write(folder, f"{i}.txt", paragraph(f"harbour crane {i}", 20))
    result = _cli(environment, "ingest", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    # A quiet CLI: the documents that went well print no line on stderr.
    assert "ingest_pipeline.outcomes" not in result.stderr
    dagster_home = tmp_path / "home" / "dagster"
    assert not list(dagster_home.rglob("*.db")), "no SQLite run or event storage next to dagster.yaml"
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT pipeline_name, run_id FROM dagster.runs")).all()
        [run_id] = [run for name, run in runs if name == "ingest_documents"]
        messages = conn.execute(text(
            "SELECT event FROM dagster.event_logs WHERE run_id = :run AND dagster_event_type IS NULL"),
            {"run": run_id}).scalars().all()
        partitions = conn.execute(text("SELECT count(*) FROM dagster.dynamic_partitions")).scalar_one()
    assert partitions == 3 and sorted(name for name, _ in runs) == ["index_upkeep", "ingest_documents"]  # its own run
    # Dagster stores a summary per stage, not a line per document (each line is a database write).
    summaries = [m for m in messages if "3 document(s), 3 done" in m]
    assert len(summaries) == 6, messages
    assert not [m for m in messages if "harbour" in m or ".txt: done" in m]
