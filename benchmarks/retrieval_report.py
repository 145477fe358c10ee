"""The retrieval benchmark's figures as a printed table, Markdown, and a PNG of recall@10 and MRR per query kind."""

from __future__ import annotations

from pathlib import Path

from benchmarks.retrieval_queries import KINDS

_COLUMNS = ("mode", "kind", "queries", "recall@1", "recall@10", "MRR")
_COLOURS = {"hybrid": "#2a7", "vector": "#57c", "keyword": "#c84"}


def rows(results: list[dict]) -> list[tuple]:
    return [(r["mode"], kind, q["queries"], q["recall_at_1"], q["recall_at_10"], q["mrr"])
            for r in results for kind, q in r["kinds"].items()]


def table(results: list[dict], swept: list[dict]) -> str:
    lines = [" ".join(f"{c:>10}" for c in _COLUMNS)]
    lines += [" ".join(f"{v:>10}" for v in row) for row in rows(results)]
    lines += ["", " ".join(f"{c:>10}" for c in ("mode", "p50 ms", "p99 ms"))]
    lines += [" ".join(f"{v:>10}" for v in (r["mode"], r["p50_ms"], r["p99_ms"])) for r in results]
    for s in swept:
        f, q = s["fusion"], s["kinds"]
        lines.append(f"hybrid depth {f['vector_depth']}/{f['keyword_depth']} rrf_k {f['rrf_k']} keyword weight "
                     f"{f['keyword_weight']}: " + ", ".join(f"{k} r@10 {q[k]['recall_at_10']} MRR {q[k]['mrr']}"
                                                              for k in (*KINDS, "all")))
    return "\n".join(lines)


def markdown(setting: dict, results: list[dict], swept: list[dict]) -> str:
    out = [f"# Retrieval: {setting['documents']} documents from /usr/share/doc, hashing embedder, "
           f"text search `{setting['config']}`, k={setting['k']}", "",
           f"Fusion: {setting['fusion']}", "", "| " + " | ".join(_COLUMNS) + " |",
           "|" + "---|" * len(_COLUMNS)]
    out += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows(results)]
    out += ["", "| mode | p50 ms | p99 ms |", "|---|---|---|"]
    out += [f"| {r['mode']} | {r['p50_ms']} | {r['p99_ms']} |" for r in results]
    if swept:
        out += ["", "Hybrid at other fusion settings (recall@10 / MRR):", "",
                "| depth | rrf_k | keyword weight | " + " | ".join((*KINDS, "all")) + " |", "|---|---|---|" + "---|" * 4]
        out += [f"| {s['fusion']['vector_depth']} | {s['fusion']['rrf_k']} | {s['fusion']['keyword_weight']} | "
                + " | ".join(f"{s['kinds'][k]['recall_at_10']} / {s['kinds'][k]['mrr']}" for k in (*KINDS, "all"))
                + " |" for s in swept]
    return "\n".join(out) + "\n"


def chart(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = (*KINDS, "all")
    figure, axes = plt.subplots(1, 2, figsize=(12, 4))
    width = 0.8 / len(results)
    for axis, measure, title in ((axes[0], "recall_at_10", "recall@10"), (axes[1], "mrr", "MRR")):
        for index, result in enumerate(results):
            values = [result["kinds"][kind][measure] for kind in kinds]
            axis.bar([i + (index - 1) * width for i in range(len(kinds))], values, width,
                     color=_COLOURS.get(result["mode"]), label=result["mode"])
        axis.set_xticks(range(len(kinds)), kinds)
        axis.set_ylim(0, 1)
        axis.set_title(title)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
