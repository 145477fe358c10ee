"""Soak the whole pipeline under injected faults and print what became of every document.

Both simulators inject faults at `--rate` (OpenAI: 429, 500, timeouts, malformed bodies, dropped
connections; LlamaParse: 429, 500, and dropped, duplicated, stale, unsigned and delayed webhooks),
the ingest API receives the webhooks, and the sensors drive the runs as the daemon would.
Usage: python -m benchmarks.fault_soak --documents 300 --rate 0.3
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

# The harness lives with the tests, whose fast form runs it too: tests never import benchmarks.
from ingest_pipeline_tests.fault_corpus import BAD_KINDS
from ingest_pipeline_tests.fault_soak import soak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300, help="corpus size, bad documents included")
    parser.add_argument("--rate", type=float, default=0.3, help="share of requests and webhooks with a fault")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-soak-"))
    os.chmod(work, 0o755)
    report = soak(work, args.documents, args.rate, args.seed)
    print(f"soak: {args.documents} documents ({len(BAD_KINDS)} bad kinds), fault rate {args.rate:.0%}")
    for line in report.lines():
        print("  " + line)
    ok = not report.lost and not report.bad_not_failed and not report.violations
    print("result: every good document embedded once, every bad one failed with a reason" if ok else "result: FAILED")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
