"""How long the embedded Postgres takes to be ready, as a fresh process sees it: a new INGEST_HOME (initdb), an
existing one (start), and a home made by the old server (pgserver 0.1.4, the test fixture) upgraded on its start.

    python3 -m benchmarks.embedded_start --repeat 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest_pipeline_tests.test_pgdata_upgrade import unpack_old_home

# A fresh interpreter per start: the benchmark's cold run pays the import and the start, not a warm handle.
_START = "import sys; from pathlib import Path; from ingest_pipeline.store.embedded import embedded_database_url; " \
         "embedded_database_url(Path(sys.argv[1]))"


def _seconds_to_start(home: Path) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", _START, str(home)], check=True, capture_output=True)
    return time.perf_counter() - began


def _new_home() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ingest-start-bench-"))
    folder.chmod(0o755)  # as root the server runs as its own user, which must reach the data
    return folder / "home"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    fresh, existing, upgraded = [], [], []
    for _ in range(repeat):
        home = _new_home()
        fresh.append(_seconds_to_start(home))
        existing.append(_seconds_to_start(home))
        old_home, _ = unpack_old_home()
        upgraded.append(_seconds_to_start(old_home))
        for used in (home, old_home):  # each server stopped when its process exited
            shutil.rmtree(used.parent)
    for name, figures in (("new INGEST_HOME (initdb + start)", fresh), ("existing INGEST_HOME (start)", existing),
                          ("pgserver 0.1.4 home (upgrade + start)", upgraded)):
        print(f"{name:40} median {statistics.median(figures):.2f} s  (runs: {', '.join(f'{s:.2f}' for s in figures)})")


if __name__ == "__main__":
    main()
