"""Ours under OpenAI's rate limits: two ingests sharing one budget, a limit lowered mid-run, and API latency.

(a) two `ingest-pipeline ingest` processes on two disjoint corpora, with our defaults, each with its own
INGEST_HOME but one database (so one shared rate budget), started at the same moment against a simulator
enforcing OpenAI's lowest paid tier (`simulated_limits`); the database is set up beforehand by one untimed one-file ingest,
as a team's shared database would be. (b) one ingest with no limit until the simulator has answered its
first embedding request, then that tier's TPM; the budget's row shows what it learned. (c) ours cold at a
simulated latency of 0 and 0.2 s per request. Prints each figure as measured, then a Markdown table;
nothing is asserted.

Usage: python3 -m benchmarks.rate_limits [--documents 300] [--only concurrent|lowered|latency]   (needs the `dev` extra)
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from benchmarks.bench import Bench, opened_bench
from benchmarks.dagster_figures import EMBEDDINGS_STEP
from benchmarks.mixed_corpus import build_disjoint_pair
from benchmarks.report import markdown_table
from benchmarks.simulated_limits import LIMITED_TPM, enforced_limits, floor_seconds, over_floor, rate_limited
from benchmarks.systems import OURS, Measurement, Target, run_ours

Figure = tuple[str, str, str]  # (scenario, figure, value)
LATENCIES = (0.0, 0.2)
SCENARIOS = ("concurrent", "lowered", "latency")  # (a), (b), (c)
POLL_SECONDS = 0.01


def figure(scenario: str, name: str, value) -> Figure:
    """One figure, printed as soon as it is known."""
    shown = "—" if value is None else f"{value:,.2f}" if isinstance(value, float) else (
        f"{value:,}" if isinstance(value, int) else str(value))
    print(f"{scenario}: {name}: {shown}", flush=True)
    return scenario, name, shown


def run_together(corpora: list[Path], targets: list[Target]) -> list[Measurement]:
    """run_ours on each corpus, each in a thread of its own, all released at the same moment."""
    start = threading.Barrier(len(corpora))

    def released(corpus: Path, target: Target) -> Measurement:
        start.wait()
        return run_ours(corpus, target)

    with ThreadPoolExecutor(len(corpora)) as pool:
        return list(pool.map(released, corpora, targets))


def set_up_database(bench: Bench, name: str) -> None:
    """One untimed ingest of one small file of neither corpus: the schema, Dagster's tables, the budget row."""
    folder = bench.work / f"{name}-set-up"
    folder.mkdir()
    (folder / "set-up.txt").write_text("A short note that sets up the shared database before the timed ingests.\n")
    run_ours(folder, bench.target(name, "set-up"))


def concurrent_ingests(bench: Bench, corpora: list[Path]) -> list[Figure]:
    scenario = "(a) two concurrent ingests, one budget"
    with enforced_limits(bench.config):
        set_up_database(bench, "shared")
        targets = [bench.target("shared", f"home-{index}") for index in range(len(corpora))]
        bench.begin()
        measured = run_together(corpora, targets)
    served = bench.stats.snapshot()
    floor = floor_seconds(served["tokens"])
    figures = [figure(scenario, "tokens (both)", served["tokens"]), figure(scenario, "429 answers", rate_limited(served)),
               figure(scenario, "floor for the tokens (s)", floor)]
    for index, m in enumerate(measured, start=1):
        figures += [figure(scenario, f"process {index}: {m.documents} documents, seconds", m.seconds),
                    figure(scenario, f"process {index}: seconds / floor (target <= 1.2)", over_floor(m.seconds, floor)),
                    figure(scenario, f"process {index}: seconds waited in the budget", m.budget_wait_seconds)]
    bench.forget("shared")
    return figures


def lowered_mid_run(bench: Bench, corpus: Path) -> list[Figure]:
    scenario = f"(b) limit lowered to {LIMITED_TPM:,} TPM mid-run"
    target = bench.target("lowered")
    bench.begin()
    try:
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(run_ours, corpus, target)
            answered = lower_after_first_answer(bench, running)
            measured = bench.served(running.result())
    finally:
        bench.config.tpm = None
    figures = [figure(scenario, "requests answered before the limit was lowered", answered),
               figure(scenario, "seconds", measured.seconds), figure(scenario, "tokens", measured.tokens),
               figure(scenario, "429 answers", measured.rate_limited),
               figure(scenario, "seconds waited in the budget", measured.budget_wait_seconds)]
    for index, row in enumerate(bench.server.rows("lowered", "SELECT * FROM rate_budgets")):
        figures.append(figure(scenario, f"rate_budgets row {index}", {k: str(v) for k, v in row.items()}))
    bench.forget("lowered")
    return figures


def lower_after_first_answer(bench: Bench, running: Future) -> int | None:
    """Set the simulator's TPM limit once it has answered one embedding request with 200; returns how many
    it had answered by then (None: the ingest ended first)."""
    while not running.done():
        answered = bench.stats.snapshot()["by_outcome"].get("ok", 0)
        if answered:
            bench.config.tpm = LIMITED_TPM
            return answered
        time.sleep(POLL_SECONDS)
    return None


def latency(bench: Bench, corpus: Path) -> list[Figure]:
    figures = []
    for seconds in LATENCIES:
        scenario, name = f"(c) cold, simulator latency {seconds} s", f"latency_{round(seconds * 1000)}_ms"
        bench.config.faults.latency_seconds = seconds
        try:
            measured = bench.ingest(OURS, corpus, name)
        finally:
            bench.config.faults.latency_seconds = 0.0
        bench.forget(name)
        figures += [figure(scenario, "seconds", measured.seconds),
                    figure(scenario, "embeddings step seconds", measured.stages.get(EMBEDDINGS_STEP)),
                    figure(scenario, "embedding requests", measured.requests)]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300, help="Size of each corpus (the two are disjoint).")
    parser.add_argument("--only", choices=SCENARIOS, action="append",
                        help="Run only this scenario (repeat for several); default: all three.")
    args = parser.parse_args()
    with opened_bench("ingest-rate-limits-") as bench:
        corpus_a, corpus_b, _ = build_disjoint_pair(bench.work, args.documents)
        wanted, figures = args.only or list(SCENARIOS), []
        if "concurrent" in wanted:
            figures += concurrent_ingests(bench, [corpus_a, corpus_b])
        if "lowered" in wanted:
            figures += lowered_mid_run(bench, corpus_a)
        if "latency" in wanted:
            figures += latency(bench, corpus_a)
    print("\n" + markdown_table(["scenario", "figure", "value"], [list(f) for f in figures]))


if __name__ == "__main__":
    main()
