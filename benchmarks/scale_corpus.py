"""The scale curve's corpora: seeded variants of the machine's real documents, no document's or chunk's text twice."""

from __future__ import annotations

import random
import re
from pathlib import Path

from benchmarks.corpus import gather
from benchmarks.pdf_corpus import read_text

SEED = 20
# Every document is a variant, none the real file itself: the real files repeat text (licences in many
# copyright files), which the embedding cache would embed once, and the machine has only about 3,500.
SOURCE_DOCUMENTS = 1000
# A variant keeps a seeded run of its source's paragraphs up to this many characters (512-token chunks hold
# about 2,000): about 10 chunks a variant, so 10,000 documents make about 100k chunks.
VARIANT_CHARACTERS = (7_000, 42_000)
# One word in this many is swapped for another of the source's words: no two variants share a chunk's text.
SWAP_EVERY = 9
# Warm corpora are numbered from here: never a variant of a cold corpus.
WARM_NUMBERS = 1_000_000
_WORD = re.compile(r"\S+")


class Pool:
    """The real texts variants are made from (gathered as the compare benchmark's corpus is)."""

    def __init__(self, folder: Path, sources: int = SOURCE_DOCUMENTS):
        gathered = [path for path in gather(folder, sources) if path.suffix != ".pdf"]
        self.sources = [path for path in gathered if len(read_text(path)) > 2_000]

    def corpus(self, folder: Path, size: int) -> Path:
        """`size` variants numbered 0, 1, ... in `folder` (a smaller corpus is the start of a larger one)."""
        return self._variants(folder, range(size))

    def warm(self, folder: Path, size: int) -> Path:
        """`size` variants no cold corpus holds (the same for every store they go into)."""
        return self._variants(folder, range(WARM_NUMBERS, WARM_NUMBERS + size))

    def _variants(self, folder: Path, numbers: range) -> Path:
        # Each variant's heading names its number: no two documents have the same text.
        folder.mkdir(parents=True)
        for number in numbers:
            text = variant(read_text(self.sources[number % len(self.sources)]), number)
            (folder / f"variant-{number:07d}.md").write_text(text, encoding="utf-8")
        return folder


def variant(text: str, number: int) -> str:
    """Variant `number` of `text`: a seeded run of its paragraphs, in seeded order, one word in SWAP_EVERY
    replaced by another of its words, under a heading of its own. Each paragraph ends with its place
    (variant.paragraph): a short one (a licence line, a one-word heading) may keep every word, and two
    variants' chunks of nothing else were the same text (24 of 100k chunks before)."""
    rng = random.Random(f"{SEED}:{number}")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    rng.shuffle(paragraphs)
    budget = rng.randint(*VARIANT_CHARACTERS)
    kept, used = [], 0
    for paragraph in paragraphs:
        if used >= budget:
            break
        kept.append(paragraph[:budget - used])
        used += len(kept[-1])
    words = _WORD.findall(text) or ["word"]
    swapped = [f"{_swap(paragraph, words, rng)} ({number}.{place})" for place, paragraph in enumerate(kept)]
    return f"# Variant {number}\n\n" + "\n\n".join(swapped) + "\n"


def _swap(paragraph: str, words: list[str], rng: random.Random) -> str:
    def replace(match: re.Match) -> str:
        return rng.choice(words) if rng.randrange(SWAP_EVERY) == 0 else match.group(0)
    return _WORD.sub(replace, paragraph)
