"""The scale curve's figures as a progress line, CSV, JSON, a Markdown table and a PNG chart."""

from __future__ import annotations

import csv
import json
from pathlib import Path

COLUMNS = ["kind", "store_documents_before", "documents", "chunks", "seconds", "ms_per_chunk", "steps_ms_per_chunk",
           "index_after_seconds",
           "ingest_peak_rss_mb", "postgres_peak_pss_mb", "hnsw_index_mb", "search_p50_ms", "search_p99_ms",
           "filtered_search_p50_ms", "filtered_search_p99_ms", "recall_at_10", "duplicate_chunk_texts",
           "settle_seconds"]


def line(row: dict) -> str:
    shown = ", ".join(f"{key} {row[key]}" for key in COLUMNS[3:] if row.get(key) is not None)
    return f"{row['kind']} {row['documents']} documents into a store of {row['store_documents_before']}: {shown}"


def write(out: Path, rows: list[dict], embedder: str) -> None:
    """scale_curve.csv, .json and .png in `out` (rewritten after every point, so a long run leaves what it measured)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "scale_curve.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (out / "scale_curve.json").write_text(json.dumps({"embedder": embedder, "rows": rows}, indent=1), encoding="utf-8")
    chart(rows, out / "scale_curve.png")


def markdown(rows: list[dict], embedder: str) -> str:
    header = ["ingest", "store before", "documents", "chunks", "s", "ms/chunk", "indexed +s", "ingest RSS MB", "Postgres PSS MB",
              "HNSW MB", "search p50/p99 ms", "filtered p50/p99 ms", "recall@10"]
    lines = [f"Embedder: {embedder}.", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for row in rows:
        cells = [row["kind"], row["store_documents_before"], row["documents"], row["chunks"], row["seconds"],
                 row["ms_per_chunk"], row.get("index_after_seconds", ""), row["ingest_peak_rss_mb"], row["postgres_peak_pss_mb"], row.get("hnsw_index_mb", ""),
                 _pair(row, "search"), _pair(row, "filtered_search"), row.get("recall_at_10", "")]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def _pair(row: dict, prefix: str) -> str:
    return f"{row[prefix + '_p50_ms']} / {row[prefix + '_p99_ms']}" if prefix + "_p50_ms" in row else ""


def chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cold = [row for row in rows if row["kind"] == "cold"]
    warm = [row for row in rows if row["kind"] == "warm" and row["store_documents_before"]]
    figure, axes = plt.subplots(1, 4, figsize=(18, 4))
    _series(axes[0], "ms per chunk", [(cold, "ms_per_chunk", "cold"), (warm, "ms_per_chunk", f"warm (+{_size(warm)})")])
    _series(axes[1], "peak memory (MB)", [(cold, "ingest_peak_rss_mb", "ingest RSS"), (cold, "postgres_peak_pss_mb", "Postgres PSS")])
    _series(axes[2], "search at k=10 (ms)", [(cold, "search_p50_ms", "p50"), (cold, "search_p99_ms", "p99"),
                                             (cold, "filtered_search_p99_ms", "filtered p99")])
    _series(axes[3], "HNSW index (MB)", [(cold, "hnsw_index_mb", "after cold ingest")])
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _size(warm: list[dict]) -> int:
    return warm[0]["documents"] if warm else 0


def _series(axis, title: str, series: list[tuple[list[dict], str, str]]) -> None:
    """One line per (rows, figure, label), against the documents in the store before the ingest (cold: its own)."""
    for rows, key, label in series:
        points = [(row["store_documents_before"] or row["documents"], row[key]) for row in rows if row.get(key) is not None]
        if points:
            axis.plot(*zip(*points), "o-", label=label)
    axis.set_xscale("log")
    axis.set_xlabel("documents in the store")
    axis.set_title(title)
    axis.legend(fontsize=8)
