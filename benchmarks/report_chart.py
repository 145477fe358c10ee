"""The comparison's figures as one PNG: documents/s per scenario, requests, peak RSS, and ours at scale."""

from __future__ import annotations

from pathlib import Path
from statistics import median

from benchmarks.report import SCENARIOS
from benchmarks.systems import OURS, THEIRS, Measurement

_COLOURS = {OURS: "#2a7", THEIRS: "#888"}
_WIDTH = 0.38


def chart(results: list[dict], series: list[Measurement], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 4, figsize=(18, 4))
    _bars(axes[0], results, "documents/s", lambda m: m.documents_per_second)
    _bars(axes[1], results, "embedding requests", lambda m: m.requests)
    _bars(axes[2], results, "peak RSS (MB)", lambda m: m.peak_rss_mb)
    _scale(axes[3], series)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _bars(axis, results: list[dict], title: str, value) -> None:
    """A median bar per system and scenario, each repetition a dot on it."""
    for offset, system in zip((-_WIDTH / 2, _WIDTH / 2), (OURS, THEIRS)):
        for index, scenario in enumerate(SCENARIOS):
            values = [value(r[scenario]) for r in results if r["system"] == system]
            axis.bar(index + offset, median(values), _WIDTH, color=_COLOURS[system],
                     label=system if index == 0 else None)
            axis.scatter([index + offset] * len(values), values, color="black", s=10, zorder=3)
    axis.set_xticks(range(len(SCENARIOS)), list(SCENARIOS))
    axis.set_title(title)
    axis.legend(fontsize=8)


def _scale(axis, series: list[Measurement]) -> None:
    if series:
        axis.plot([m.chunks for m in series], [m.seconds for m in series], "o-", label="ours")
        for m in series:
            axis.annotate(f"{m.documents} docs", (m.chunks, m.seconds), fontsize=7)
        last = series[-1]
        axis.plot([0, last.chunks], [0, last.seconds], "--", color="grey", label="proportional to chunks")
        axis.set_xlabel("chunks")
        axis.set_ylabel("seconds")
        axis.legend(fontsize=8)
    axis.set_title("scale (ours)")
