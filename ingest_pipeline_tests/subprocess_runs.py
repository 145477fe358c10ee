"""Real `ingest-pipeline ingest` processes for crash and race tests: a small mixed corpus, and a kill at a chosen write."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from fpdf import FPDF
from sqlalchemy import text

from ingest_pipeline_tests.pipeline_runs import paragraph, write


def corpus(folder):
    pdf = FPDF()
    for topic in ("basalt column", "obsidian flow"):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(w=0, text=paragraph(topic, 12))
    write(folder, "rocks.pdf", bytes(pdf.output()))
    write(folder, "caves.md", "# Caves\n\n" + paragraph("limestone cave", 40) + "\n\n## Bats\n\n" + paragraph("bat roost", 40))
    write(folder, "rivers.html", "<h1>Rivers</h1><p>" + paragraph("meander bend", 40) + "</p>")
    write(folder, "notes.txt", paragraph("sand dune", 40))


def ingest(environment, folder, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "ingest_pipeline.cli.main", "ingest", str(folder), "--json"],
                            env={**os.environ, **environment}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def waiting_on(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                 "WHERE NOT l.granted AND c.relname = :table"), {"table": table}).scalar_one()


def kill_while_writing(engine, environment, folder, table: str) -> None:
    """Hold `table`'s writes, start `ingest`, SIGKILL it once it waits to write there, release."""
    with engine.connect() as blocker:
        transaction = blocker.begin()
        blocker.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))  # reads pass, writes wait
        process = ingest(environment, folder)
        deadline = time.monotonic() + 180
        while not waiting_on(engine, table):
            assert process.poll() is None, f"ingest ended before writing {table}: {process.communicate()[1][-2000:]}"
            assert time.monotonic() < deadline, f"ingest never reached {table}"
            time.sleep(0.1)
        process.kill()
        process.wait()
        transaction.rollback()
