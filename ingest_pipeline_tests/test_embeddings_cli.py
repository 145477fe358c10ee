"""`ingest-pipeline embeddings list | fill | switch | drop` as a user runs them after changing the embedding size:
a real process, the real database, Dagster runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ingest_pipeline_tests.pipeline_runs import paragraph, write


def _cli(environment, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest_pipeline.cli.main", *args], env={**os.environ, **environment},
                          capture_output=True, text=True, timeout=300)


def _sets(environment) -> list[dict]:
    listed = _cli(environment, "embeddings", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_fill_switches_once_complete_and_switch_and_drop_refuse_what_would_leave_search_short(environment, tmp_path):
    small, large = ({**environment, "INGEST_EMBEDDING_DIMENSIONS": str(n)} for n in (256, 512))
    write(tmp_path / "first", "otters.md", "# Otters\n\n" + paragraph("sea otter raft", 30))
    write(tmp_path / "first", "bridges.md", "# Bridges\n\n" + paragraph("suspension cable", 30))
    assert _cli(small, "ingest", str(tmp_path / "first")).returncode == 0
    (old,) = _sets(small)
    assert (old["dimensions"], old["active"], old["complete"], old["of_documents"]) == (256, True, True, 2)

    filled = _cli(large, "embeddings", "fill")
    assert filled.returncode == 0, filled.stderr
    assert "covers 2 of 2 embedded documents; search answers from it" in filled.stdout
    old, new = _sets(large)
    assert (new["dimensions"], new["active"], new["configured"], old["active"]) == (512, True, True, False)
    assert new["index_mb"] > 0 and _cli(large, "embeddings", "fill").returncode == 0  # nothing left: no run

    write(tmp_path / "second", "meadows.md", "# Meadows\n\n" + paragraph("alpine meadow", 30))
    assert _cli(large, "ingest", str(tmp_path / "second")).returncode == 0
    refused = _cli(large, "embeddings", "switch", str(old["set"]))
    assert refused.returncode == 1 and "covers 2 of 3 embedded documents" in refused.stderr
    active = _cli(large, "embeddings", "drop", new["name"])
    assert active.returncode == 1 and "is the one search answers from" in active.stderr

    dropped = _cli(large, "embeddings", "drop", str(old["set"]))
    assert dropped.returncode == 0 and f"dropped set {old['set']}" in dropped.stdout
    assert [s["set"] for s in _sets(large)] == [new["set"]]
    found = _cli(large, "search", "alpine meadow", "--json", "-k", "1")
    assert found.returncode == 0 and "meadows.md" in found.stdout
