"""The comparison's figures as Markdown tables (medians over the repetitions), and its raw JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from statistics import median

from benchmarks.simulated_limits import LIMITED_RPM, LIMITED_TPM, floor_seconds, over_floor
from benchmarks.systems import OURS, STARTUP_STAGE, THEIRS, Measurement

SCENARIOS = {
    "cold": "corpus A into a fresh database",
    "warm": ("corpus B (no file and no document's text in common with A; a few chunks, licence paragraphs and "
             "the like, may repeat, and ours embeds those once) into the same database, right after cold"),
    "limited": f"corpus A into a fresh database, the simulator enforcing {LIMITED_TPM:,} TPM and {LIMITED_RPM:,} RPM",
}
_NONE = "—"
_METHOD = ("Same machine, same embedded Postgres, same OpenAI simulator (no latency); each ingest timed as a whole "
           "process, spawn to exit, systems alternating, after one untimed warm-up ingest each; both systems' modules "
           "byte-compiled beforehand; a CHECKPOINT and a sync before every timed ingest. Ours runs with its defaults "
           "(no INGEST_OPENAI_RPM/TPM: its rate budget learns the account's limits from the API's headers) and "
           "builds an HNSW index, which is part of its time; LlamaIndex runs as its documentation shows, "
           "`IngestionPipeline(transformations=[splitter, embedder], vector_store=PGVectorStore)`, with no docstore "
           "and no ANN index (PGVectorStore builds no HNSW index by default).")


def floor_of(m: Measurement) -> float:
    """The least time the limited scenario's limit allows for the tokens this ingest had embedded."""
    return floor_seconds(m.tokens)


# (label, value, format, scenarios): one line of a scenario's table; a value may be None (not measured).
_ROWS = [
    ("documents/s (process start to exit)", lambda m: m.documents_per_second, "{:.2f}", SCENARIOS),
    ("seconds (process start to exit)", lambda m: m.seconds, "{:.1f}", SCENARIOS),
    ("documents / chunks", lambda m: f"{m.documents} / {m.chunks}", "{}", SCENARIOS),
    ("embedding requests", lambda m: m.requests, "{:.0f}", SCENARIOS),
    ("minimum requests the API limits allow", lambda m: m.minimum_requests, "{:.0f}", SCENARIOS),
    ("429 answers (the simulator's limits)", lambda m: m.rate_limited, "{:.0f}", SCENARIOS),
    ("texts embedded", lambda m: m.inputs, "{:.0f}", SCENARIOS),
    ("tokens embedded", lambda m: m.tokens, "{:,.0f}", SCENARIOS),
    ("peak RSS of the largest ingesting process (MB)", lambda m: m.peak_rss_mb, "{:.0f}", SCENARIOS),
    ("seconds waited in our rate budget", lambda m: m.budget_wait_seconds, "{:.1f}", SCENARIOS),
    ("ours: seconds after exit until the background index upkeep was done", lambda m: m.index_seconds, "{:.1f}",
     SCENARIOS),
    ("floor the limit implies (s)", floor_of, "{:.1f}", ("limited",)),
    ("seconds / floor", lambda m: over_floor(m.seconds, floor_of(m)), "{:.2f}", ("limited",)),
]


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A table whose first column is left-aligned and the others right-aligned."""
    lines = [header, ["---"] + ["---:"] * (len(header) - 1), *rows]
    return "\n".join("| " + " | ".join(map(str, line)) + " |" for line in lines)


def round_line(result: dict) -> str:
    """One repetition of one system, every scenario, as the benchmark goes."""
    def brief(scenario: str) -> str:
        m = result[scenario]
        line = (f"{scenario} {m.documents} docs {m.seconds:.1f} s ({m.documents_per_second:.1f}/s), "
                f"{m.requests} requests, {m.rate_limited} 429s, RSS {m.peak_rss_mb:.0f} MB")
        if m.budget_wait_seconds is not None:
            line += f", budget wait {m.budget_wait_seconds:.1f} s"
        if m.index_seconds is not None:
            line += f", indexed {m.index_seconds:.1f} s after exit"
        if scenario == "limited":
            ratio = _formatted(over_floor(m.seconds, floor_of(m)), "{:.2f}")
            line += f", floor {floor_of(m):.1f} s (seconds/floor {ratio})"
        return line
    return f"{result['system']:>10} rep {result['rep']}: " + "; ".join(brief(s) for s in SCENARIOS)


def _of(results: list[dict], system: str, scenario: str) -> list[Measurement]:
    return [r[scenario] for r in results if r["system"] == system]


def _median(measurements: list[Measurement], value) -> float | None:
    values = [v for v in map(value, measurements) if v is not None]
    return median(values) if values else None


def _formatted(value, fmt: str) -> str:
    return _NONE if value is None else fmt.format(value)


def ratio_per_round(results: list[dict], scenario: str) -> list[float]:
    """ours/LlamaIndex documents per second, repetition by repetition."""
    ours, theirs = _of(results, OURS, scenario), _of(results, THEIRS, scenario)
    return [a.documents_per_second / b.documents_per_second for a, b in zip(ours, theirs)]


def summary_table(results: list[dict]) -> str:
    rows = []
    for scenario in SCENARIOS:
        ours, theirs = (_median(_of(results, s, scenario), lambda m: m.documents_per_second) for s in (OURS, THEIRS))
        ratios = ratio_per_round(results, scenario)
        rows.append([scenario, f"{ours:.2f}", f"{theirs:.2f}", f"**{median(ratios):.2f}**",
                     ", ".join(f"{r:.2f}" for r in ratios)])
    return markdown_table(["documents/s (median)", OURS, THEIRS, "ours / LlamaIndex (median of the repetitions')",
                           "ours / LlamaIndex per repetition"], rows)


def scenario_table(results: list[dict], scenario: str) -> str:
    rows = []
    for label, value, fmt, scenarios in _ROWS:
        if scenario not in scenarios:
            continue
        ours, theirs = _of(results, OURS, scenario), _of(results, THEIRS, scenario)
        if fmt == "{}":
            rows.append([label, value(ours[0]), value(theirs[0]), ""])
            continue
        a, b = _median(ours, value), _median(theirs, value)
        ratio = f"{a / b:.2f}" if a is not None and b else ""
        rows.append([label, _formatted(a, fmt), _formatted(b, fmt), ratio])
    return markdown_table([f"median of {len(_of(results, OURS, scenario))} runs", OURS, THEIRS, "ours / theirs"], rows)


def stage_table(results: list[dict], scenario: str = "cold") -> str:
    rows = []
    for system in (OURS, THEIRS):
        runs = _of(results, system, scenario)
        rows += [[system, stage, f"{median(m.stages.get(stage, 0.0) for m in runs):.2f}"] for stage in runs[0].stages]
    return markdown_table(["system", "stage", "median seconds"], rows)


def pdf_section(pdf: dict | None, speed) -> str:
    lines = []
    if pdf:
        lines += [f"A {pdf['pages']}-page PDF ingested alone ({pdf['file'].stat().st_size / 1e6:.1f} MB):", "",
                  "| system | seconds | peak RSS (MB) | chunks |", "|---|---:|---:|---:|"]
        lines += [f"| {m.system} | {m.seconds:.1f} | {m.peak_rss_mb:.0f} | {m.chunks} |" for m in pdf["measured"].values()]
        lines.append("")
    lines.append(f"Local PDF parsing against raw pypdfium2 text extraction on the same {speed.files} PDFs "
                 f"({speed.pages} pages): ours {speed.ours_seconds:.2f} s, pypdfium2 {speed.raw_seconds:.2f} s, "
                 f"ratio **{speed.ratio:.2f}×**.")
    return "\n".join(lines)


def scale_table(series: list[Measurement]) -> str:
    if not series:
        return ""
    # Documents differ in size (a few long changelogs hold thousands of chunks), so growth is judged
    # per chunk of the steps' time; outside the steps: start-up, registration, Dagster set-up.
    lines = ["| documents | chunks | seconds | documents/s | outside the steps (s) | steps: ms per chunk |",
             "|---:|---:|---:|---:|---:|---:|"]
    for m in series:
        outside = m.stages.get(STARTUP_STAGE, 0.0)
        per_chunk = 1000 * (m.seconds - outside) / max(m.chunks, 1)
        lines.append(f"| {m.documents} | {m.chunks} | {m.seconds:.1f} | {m.documents_per_second:.1f} | {outside:.1f} "
                     f"| {per_chunk:.2f} |")
    return "\n".join(lines)


def raw_json(results: list[dict], pdf: dict | None, speed, series: list[Measurement]) -> str:
    """Every measurement, for later analysis."""
    def plain(value):
        return asdict(value) if is_dataclass(value) else str(value) if isinstance(value, Path) else value
    rounds = [{key: plain(value) for key, value in result.items()} for result in results]
    large = {"pages": pdf["pages"], "measured": {k: asdict(m) for k, m in pdf["measured"].items()}} if pdf else None
    return json.dumps({"rounds": rounds, "large_pdf": large, "parse_speed": asdict(speed),
                       "scale": [asdict(m) for m in series]}, indent=1)


def markdown(corpora: dict[str, str], results: list[dict], pdf: dict | None, speed, series: list[Measurement]) -> str:
    parts = [
        "# Ingest benchmark: ours against LlamaIndex", "",
        f"Corpus A: {corpora['A']}. Corpus B: {corpora['B']}.", "",
        _METHOD, "",
        *[f"- **{name}**: {text}." for name, text in SCENARIOS.items()], "",
        summary_table(results), "",
    ]
    for scenario in SCENARIOS:
        parts += [f"## {scenario}: {SCENARIOS[scenario]}", "", scenario_table(results, scenario), ""]
    parts += ["## Time per stage (cold)", "", stage_table(results), "",
              "Re-ingest and one-edit figures (ours; LlamaIndex without a docstore embeds everything again): "
              "`python3 -m benchmarks.embedding_requests`.", "",
              "## PDFs", "", pdf_section(pdf, speed), ""]
    if series:
        parts += ["## Scale (ours)", "", scale_table(series), ""]
    return "\n".join(parts)
