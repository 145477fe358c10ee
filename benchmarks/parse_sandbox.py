"""What the extraction sandbox costs: the benchmark corpus parsed in this process and by sandbox workers,
from a process that has Dagster and the code location loaded (as a run's process has).

    python3 -m benchmarks.parse_sandbox --documents 300
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.mixed_corpus import build, describe
from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.parse.extraction import ExtractionLimits, extract_pages, sniff_file
from ingest_pipeline.parse.sandbox import sandboxed_pages

# The cold benchmark's time for 300 documents (README), which the sandbox's cost is set against.
COLD_SECONDS_300 = 12.7
# One at a time (the sandbox's own cost per document), and two at once as the parse stage runs on 2 cores
# (where the workers also run outside this process's GIL).
AT_ONCE = (1, 2)


def _read(path: Path, sandboxed: bool) -> int:
    pages = sandboxed_pages if sandboxed else extract_pages
    try:
        return sum(len(page.text) for page in pages(path, sniff_file(path), ExtractionLimits()))
    except DocumentRejected:
        return 0


def _seconds(files: list[Path], sandboxed: bool, at_once: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(at_once) as pool:
        list(pool.map(lambda path: _read(path, sandboxed), files))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    # Loaded for its size, as in a run's process: a fork copies the parent's page tables.
    importlib.import_module("ingest_pipeline.definitions")
    with tempfile.TemporaryDirectory() as folder:
        files = build(Path(folder), arguments.documents)
        print(describe(files))
        _seconds(files, True, 1)  # warm-up: page cache, lazily imported codecs, the workers started
        for at_once in AT_ONCE:
            alone = _median([_seconds(files, False, at_once) for _ in range(arguments.repeat)])
            sandboxed = _median([_seconds(files, True, at_once) for _ in range(arguments.repeat)])
            _report(len(files), at_once, arguments.repeat, alone, sandboxed)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _report(documents: int, at_once: int, repeat: int, alone: float, sandboxed: float) -> None:
    extra = sandboxed - alone
    share = extra / (COLD_SECONDS_300 * documents / 300)
    print(f"{documents} documents, {at_once} at a time, medians of {repeat}: in this process {alone:.2f} s, "
          f"in sandbox workers {sandboxed:.2f} s; the sandbox adds {extra:+.2f} s "
          f"({extra / documents * 1000:+.2f} ms per document), {share:+.1%} of the cold benchmark's time")

if __name__ == "__main__":
    main()
