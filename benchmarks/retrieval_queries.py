"""Labelled queries built from an ingested store's own chunks: known items (a sentence with words dropped and
reordered), section headings, and rare exact terms; each with the chunks that answer it."""

from __future__ import annotations

import random
import re
import string
from collections import defaultdict
from dataclasses import dataclass

KNOWN_ITEM, HEADING, RARE_TERM = "known-item", "heading", "rare-term"
KINDS = (KNOWN_ITEM, HEADING, RARE_TERM)
# A known-item query keeps this share of its sentence's words, in shuffled order.
KEPT_SHARE = 0.6
MIN_SENTENCE_WORDS = 10
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|\d+")
# What a person would type of a word they read: its letters and inner punctuation, not the brackets around it.
_AROUND = string.punctuation + "“”‘’«»"
# Identifier-like tokens: error codes, versions, function and package names, long proper words.
_TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*[A-Za-z0-9]")


@dataclass(frozen=True)
class Chunk:
    id: str
    document_id: str
    text: str
    heading_path: tuple[str, ...]


@dataclass(frozen=True)
class LabelledQuery:
    kind: str
    text: str
    relevant: frozenset[str]  # chunk ids; any of them found counts


def build(chunks: list[Chunk], per_kind: int, seed: int = 21) -> list[LabelledQuery]:
    rng = random.Random(seed)
    return known_items(chunks, per_kind, rng) + headings(chunks, per_kind, rng) + rare_terms(chunks, per_kind, rng)


def known_items(chunks: list[Chunk], count: int, rng: random.Random) -> list[LabelledQuery]:
    """A sentence of a random chunk, 40% of its words dropped and the rest shuffled; it answers wherever it occurs."""
    queries, order = [], rng.sample(chunks, len(chunks))
    for chunk in order:
        sentences = [s for s in _SENTENCE_END.split(chunk.text) if len(_WORD.findall(s)) >= MIN_SENTENCE_WORDS]
        if not sentences:
            continue
        sentence = " ".join(rng.choice(sentences).split())
        words = [w.strip(_AROUND) for w in sentence.split() if _WORD.search(w)]
        kept = rng.sample(words, max(3, round(len(words) * KEPT_SHARE)))
        relevant = frozenset(c.id for c in chunks if sentence in " ".join(c.text.split()))
        queries.append(LabelledQuery(KNOWN_ITEM, " ".join(kept), relevant or frozenset({chunk.id})))
        if len(queries) == count:
            break
    return queries


def headings(chunks: list[Chunk], count: int, rng: random.Random) -> list[LabelledQuery]:
    """A section heading of two or more words that only one document has; the section's chunks answer it."""
    sections: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for chunk in chunks:
        for heading in chunk.heading_path:
            sections[" ".join(heading.split())][chunk.document_id].add(chunk.id)
    usable = sorted(h for h, docs in sections.items()
                    if len(docs) == 1 and 2 <= len(_WORD.findall(h)) and len(h) <= 80)
    picked = rng.sample(usable, min(count, len(usable)))
    return [LabelledQuery(HEADING, h, frozenset(next(iter(sections[h].values())))) for h in picked]


def rare_terms(chunks: list[Chunk], count: int, rng: random.Random) -> list[LabelledQuery]:
    """An identifier-like term (a digit, an underscore, a dot inside, or a long word) found in at most two chunks."""
    where: dict[str, set[str]] = defaultdict(set)
    for chunk in chunks:
        for term in set(_TERM.findall(chunk.text)):
            where[term].add(chunk.id)
    usable = sorted(t for t, ids in where.items() if len(ids) <= 2 and _looks_rare(t))
    picked = rng.sample(usable, min(count, len(usable)))
    return [LabelledQuery(RARE_TERM, term, frozenset(where[term])) for term in picked]


def _looks_rare(term: str) -> bool:
    coded = any(ch.isdigit() for ch in term) and any(ch.isalpha() for ch in term)
    return 6 <= len(term) <= 40 and (coded or "_" in term or "." in term.strip(".") or len(term) >= 10)
