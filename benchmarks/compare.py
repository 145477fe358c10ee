"""Ours against LlamaIndex on the same corpora, Postgres and simulated OpenAI API, plus PDF and scale figures.

Each repetition, each system in a process of its own (order alternating): `cold`, corpus A into a fresh
database; `warm`, a disjoint corpus B into that same database right after; `limited`, corpus A into a
fresh database while the simulator enforces OpenAI's lowest paid tier (`simulated_limits`). Ours runs with its defaults
(no INGEST_OPENAI_RPM/TPM); LlamaIndex runs as its documentation shows (no docstore, no ANN index).

Usage: python3 -m benchmarks.compare [--documents 300] [--repeat 3] [--pdf-pages 500] [--scale 100,500,1000,2000]
Needs the `dev` and `benchmark` extras. Prints the tables and writes them as Markdown with a PNG chart.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from benchmarks import report, report_chart
from benchmarks.bench import Bench, opened_bench
from benchmarks.mixed_corpus import build, build_disjoint_pair
from benchmarks.pdf_checks import parse_speed
from benchmarks.pdf_corpus import make_pdf
from benchmarks.simulated_limits import enforced_limits
from benchmarks.systems import OURS, SLUG, THEIRS, Measurement

WARM_UP_DOCUMENTS = 20


def warm_up(bench: Bench, corpus: Path, documents: int = WARM_UP_DOCUMENTS) -> None:
    """One untimed ingest of a few documents per system: the first process to read the packages and the
    first database on a fresh server pay costs that no later run pays, whichever system goes first."""
    sample = bench.work / "warm-up-corpus"
    sample.mkdir()
    for path in sorted(corpus.iterdir())[:documents]:
        shutil.copy(path, sample / path.name)
    for system in (OURS, THEIRS):
        bench.ingest(system, sample, f"warm_up_{SLUG[system]}")
        bench.forget(f"warm_up_{SLUG[system]}")
    shutil.rmtree(sample)


def rounds(bench: Bench, corpus_a: Path, corpus_b: Path, repeat: int) -> list[dict]:
    """Each repetition: for each system (order alternating), the cold, warm and limited scenarios."""
    results = []
    for rep in range(repeat):
        for system in ((OURS, THEIRS) if rep % 2 == 0 else (THEIRS, OURS)):
            results.append({"system": system, "rep": rep, **scenarios(bench, system, f"{SLUG[system]}_{rep}",
                                                                       corpus_a, corpus_b)})
            print(report.round_line(results[-1]), flush=True)
    return results


def scenarios(bench: Bench, system: str, name: str, corpus_a: Path, corpus_b: Path) -> dict[str, Measurement]:
    """cold and warm share a database; limited has a fresh one. The unlimited ingests between two limited
    ones give each limited ingest full buckets (see enforced_limits)."""
    measured = {"cold": bench.ingest(system, corpus_a, name), "warm": bench.ingest(system, corpus_b, name)}
    bench.forget(name)
    with enforced_limits(bench.config):
        measured["limited"] = bench.ingest(system, corpus_a, f"{name}_limited")
    bench.forget(f"{name}_limited")
    return measured


def large_pdf(bench: Bench, pages: int) -> dict:
    """A `pages`-page PDF ingested alone by each system: peak RSS and time."""
    folder = bench.work / "large-pdf"
    folder.mkdir()
    sources = sorted(Path("/usr/share/doc").rglob("changelog*.gz"))[:60]
    make_pdf(folder / f"book-{pages}-pages.pdf", sources, pages, f"A {pages}-page document")
    measured = {}
    for system in (OURS, THEIRS):
        measured[system] = bench.ingest(system, folder, f"large_pdf_{SLUG[system]}")
        bench.forget(f"large_pdf_{SLUG[system]}")
    return {"pages": pages, "file": folder / f"book-{pages}-pages.pdf", "measured": measured}


def scale(bench: Bench, sizes: list[int]) -> list[Measurement]:
    """Ours alone on growing corpora, each into a fresh database."""
    series = []
    for size in sizes:
        corpus = bench.work / f"scale-{size}"
        build(corpus, size)
        series.append(bench.ingest(OURS, corpus, f"scale_{size}"))
        bench.forget(f"scale_{size}")
        shutil.rmtree(corpus)
        print(f"scale: {size} documents in {series[-1].seconds:.1f} s", flush=True)
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300, help="Size of each comparison corpus (A and B).")
    parser.add_argument("--repeat", type=int, default=3, help="Repetitions of the comparison, alternating order.")
    parser.add_argument("--pdf-pages", type=int, default=500, help="Pages of the large PDF (0 skips it).")
    parser.add_argument("--scale", default="100,500,1000,2000", help="Corpus sizes for the scale series ('' skips it).")
    parser.add_argument("--out", type=Path, default=Path(".ingest/benchmarks"), help="Where the Markdown and PNG go.")
    args = parser.parse_args()
    with opened_bench("ingest-compare-") as bench:
        corpus_a, corpus_b, corpora = build_disjoint_pair(bench.work, args.documents)
        warm_up(bench, corpus_a)
        results = rounds(bench, corpus_a, corpus_b, args.repeat)
        pdf = large_pdf(bench, args.pdf_pages) if args.pdf_pages else None
        speed = parse_speed(sorted(corpus_a.glob("*.pdf")) + ([pdf["file"]] if pdf else []))
        series = scale(bench, [int(n) for n in args.scale.split(",") if n.strip()])
    write(args.out, corpora, results, pdf, speed, series)


def write(out: Path, corpora: dict[str, str], results: list[dict], pdf: dict | None, speed, series: list[Measurement]) -> None:
    """Print the Markdown, and write it to `out` with the raw JSON and the chart."""
    markdown = report.markdown(corpora, results, pdf, speed, series)
    print("\n" + markdown)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(markdown, encoding="utf-8")
    (out / "compare.json").write_text(report.raw_json(results, pdf, speed, series), encoding="utf-8")
    report_chart.chart(results, series, out / "compare.png")
    print(f"wrote {out / 'compare.md'}, compare.json and compare.png")


if __name__ == "__main__":
    main()
