"""Rewrite the README's configuration table from `settings.VARIABLES`, the one list of variables."""

from pathlib import Path

from ingest_pipeline.settings import VARIABLES

README = Path(__file__).resolve().parents[1] / "README.md"
HEADER = "| Variable | Default | Meaning |\n|---|---|---|\n"


def table() -> str:
    rows = [f"| `{v.name}` | {f'`{v.default}`' if v.default else '—'} | {v.description} |" for v in VARIABLES]
    return HEADER + "\n".join(rows) + "\n"


def main() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index(HEADER)
    end = text.index("\n\n", start) + 1
    README.write_text(text[:start] + table() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    main()
