"""Prints what embedding a corpus costs in OpenAI requests: a backfill against the minimum, a re-ingest, one edit.

Runs the real pipeline (embedded Postgres, local parser, `INGEST_EMBEDDER=openai`) against the OpenAI
simulator with the real client. Usage: python -m benchmarks.embedding_requests [--documents 300]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from sqlalchemy import text

from benchmarks.corpus import gather
from ingest_pipeline.cli.ingest_command import register_paths
from ingest_pipeline.domain.providers import OPENAI
from ingest_pipeline.domain.statuses import SETTLED
from ingest_pipeline.embed.batching import minimum_requests
from ingest_pipeline.orchestration.runs import launch_ingest
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.simulators.openai_api import running_simulator
from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig


def ingest(app: Application, folder: Path) -> None:
    ids, _ = register_paths(app, [folder])
    pending = [doc.id for doc, _ in app.documents(ids) if doc.status not in SETTLED]
    if pending:
        launch_ingest(app.settings.dagster_home, pending, app.resources)


def distinct_token_counts(app: Application) -> list[int]:
    with app.engine.connect() as conn:
        return list(conn.execute(text("SELECT DISTINCT ON (text_hash) token_count FROM chunks")).scalars())


def edit_one_paragraph(folder: Path) -> Path:
    """Change one sentence in the middle of the largest Markdown or text file."""
    target = max((p for p in folder.iterdir() if p.suffix in (".md", ".txt")), key=lambda p: p.stat().st_size)
    body = target.read_text(encoding="utf-8", errors="replace")
    middle = len(body) // 2
    target.write_text(body[:middle] + "\n\nAn edited paragraph about nothing in particular.\n\n" + body[middle:],
                      encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    os.chmod(work, 0o755)
    folder = work / "corpus"
    gather(folder, args.documents)
    config = SimulatorConfig()
    with running_simulator(config) as base_url:
        env = {"INGEST_HOME": str(work / "home"), "INGEST_EMBEDDER": OPENAI, "OPENAI_BASE_URL": base_url,
               "OPENAI_API_KEY": "sk-benchmark", "INGEST_OPENAI_TPM": "100000000"}
        app = Application(Settings.from_env(env))
        ingest(app, folder)
        backfill = config.stats.snapshot()["requests"]
        minimum = minimum_requests(distinct_token_counts(app), app.embedder.batch_limits)
        config.stats.reset()
        ingest(app, folder)
        again = config.stats.snapshot()["requests"]
        config.stats.reset()
        edited = edit_one_paragraph(folder)
        ingest(app, folder)
        after_edit = config.stats.snapshot()
    statuses = {}
    for doc, _ in app.documents():
        statuses[doc.status.value] = statuses.get(doc.status.value, 0) + 1
    print(f"documents: {sum(statuses.values())} {statuses}")
    print(f"backfill: {backfill} embedding requests, minimum the API limits allow {minimum} "
          f"(ratio {backfill / max(minimum, 1):.3f})")
    print(f"re-ingest of the unchanged corpus: {again} requests")
    print(f"after editing one paragraph of {edited.name}: {after_edit['requests']} request(s), "
          f"{after_edit['inputs']} chunk text(s) embedded")


if __name__ == "__main__":
    main()
