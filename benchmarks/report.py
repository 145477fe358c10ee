"""The comparison's figures as Markdown tables and a PNG chart (medians over the repetitions)."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from statistics import median

from benchmarks.systems import OURS, STARTUP_STAGE, THEIRS, Measurement


def round_line(result: dict) -> str:
    b, a, e = result["backfill"], result["again"], result["edited"]
    return (f"{result['system']:>10} rep {result['rep']}: {b.documents} docs in {b.seconds:.1f} s "
            f"({b.documents_per_second:.1f} docs/s), {b.requests} requests (minimum {b.minimum_requests}), "
            f"RSS {b.peak_rss_mb:.0f} MB; re-ingest {a.seconds:.1f} s, {a.requests} requests; "
            f"edit {e.requests} requests, {e.inputs} texts")


def _of(results: list[dict], system: str, phase: str) -> list[Measurement]:
    return [r[phase] for r in results if r["system"] == system]


def _med(measurements: list[Measurement], value) -> float:
    return median(value(m) for m in measurements)


# (label, phase, value, format): one line of the comparison table.
_ROWS = [
    ("documents/s", "backfill", lambda m: m.documents_per_second, "{:.2f}"),
    ("chunks/s", "backfill", lambda m: m.chunks_per_second, "{:.1f}"),
    ("backfill seconds (process start to exit)", "backfill", lambda m: m.seconds, "{:.1f}"),
    ("documents / chunks", "backfill", lambda m: f"{m.documents} / {m.chunks}", "{}"),
    ("embedding requests", "backfill", lambda m: m.requests, "{:.0f}"),
    ("minimum requests the API limits allow", "backfill", lambda m: m.minimum_requests, "{:.0f}"),
    ("requests / minimum", "backfill", lambda m: m.requests / max(m.minimum_requests, 1), "{:.3f}"),
    ("texts embedded", "backfill", lambda m: m.inputs, "{:.0f}"),
    ("peak RSS of the largest ingesting process (MB)", "backfill", lambda m: m.peak_rss_mb, "{:.0f}"),
    ("re-ingest of the unchanged corpus: seconds", "again", lambda m: m.seconds, "{:.1f}"),
    ("re-ingest: embedding requests", "again", lambda m: m.requests, "{:.0f}"),
    ("one edited document: embedding requests", "edited", lambda m: m.requests, "{:.0f}"),
    ("one edited document: texts embedded", "edited", lambda m: m.inputs, "{:.0f}"),
]


def comparison_table(results: list[dict]) -> str:
    lines = [f"| median of {len(_of(results, OURS, 'backfill'))} runs | {OURS} | {THEIRS} | ours / theirs |",
             "|---|---:|---:|---:|"]
    for label, phase, value, fmt in _ROWS:
        ours, theirs = _of(results, OURS, phase), _of(results, THEIRS, phase)
        if isinstance(value(ours[0]), str):
            lines.append(f"| {label} | {value(ours[0])} | {value(theirs[0])} | |")
            continue
        a, b = _med(ours, value), _med(theirs, value)
        ratio = f"{a / b:.2f}" if b else ""
        lines.append(f"| {label} | {fmt.format(a)} | {fmt.format(b)} | {ratio} |")
    return "\n".join(lines)


def ratio_per_round(results: list[dict]) -> list[float]:
    ours, theirs = _of(results, OURS, "backfill"), _of(results, THEIRS, "backfill")
    return [a.documents_per_second / b.documents_per_second for a, b in zip(ours, theirs)]


def stage_table(results: list[dict]) -> str:
    lines = ["| system | stage | median seconds |", "|---|---|---:|"]
    for system in (OURS, THEIRS):
        runs = _of(results, system, "backfill")
        for stage in runs[0].stages:
            lines.append(f"| {system} | {stage} | {median(m.stages.get(stage, 0.0) for m in runs):.2f} |")
    return "\n".join(lines)


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


def markdown(corpus: str, results: list[dict], pdf: dict | None, speed, series: list[Measurement]) -> str:
    ratios = ", ".join(f"{r:.2f}" for r in ratio_per_round(results))
    parts = [
        "# Ingest benchmark: ours against LlamaIndex", "",
        f"Corpus: {corpus}. Same machine, same embedded Postgres, same OpenAI simulator (no latency); "
        "each ingest in its own process, systems alternating, after one untimed warm-up ingest each; "
        "both systems' modules byte-compiled beforehand; a CHECKPOINT and a sync before every timed ingest.", "",
        comparison_table(results), "",
        f"ours/LlamaIndex documents-per-second ratio per repetition: {ratios} "
        f"(median **{median(ratio_per_round(results)):.2f}**).", "",
        "## Time per stage (backfill)", "", stage_table(results), "",
        "## PDFs", "", pdf_section(pdf, speed), "",
    ]
    if series:
        parts += ["## Scale (ours)", "", scale_table(series), ""]
    return "\n".join(parts)


def chart(results: list[dict], series: list[Measurement], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = (OURS, THEIRS)
    panels = [("documents/s", lambda m: m.documents_per_second), ("embedding requests", lambda m: m.requests),
              ("peak RSS (MB)", lambda m: m.peak_rss_mb)]
    figure, axes = plt.subplots(1, len(panels) + 1, figsize=(16, 4))
    for axis, (title, value) in zip(axes, panels):
        medians = [_med(_of(results, s, "backfill"), value) for s in systems]
        axis.bar(systems, medians, color=["#2a7", "#888"])
        for index, system in enumerate(systems):
            axis.scatter([index] * len(_of(results, system, "backfill")),
                         [value(m) for m in _of(results, system, "backfill")], color="black", s=10, zorder=3)
        if title == "embedding requests":
            axis.plot(systems, [_med(_of(results, s, "backfill"), lambda m: m.minimum_requests) for s in systems],
                      "r_", markersize=40, label="minimum the API allows")
            axis.legend(fontsize=8)
        axis.set_title(title)
    scale_axis = axes[-1]
    if series:
        scale_axis.plot([m.chunks for m in series], [m.seconds for m in series], "o-", label="ours")
        for m in series:
            scale_axis.annotate(f"{m.documents} docs", (m.chunks, m.seconds), fontsize=7)
        last = series[-1]
        scale_axis.plot([0, last.chunks], [0, last.seconds], "--", color="grey", label="proportional to chunks")
        scale_axis.set_xlabel("chunks")
        scale_axis.set_ylabel("seconds")
        scale_axis.legend(fontsize=8)
    scale_axis.set_title("scale (ours)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
