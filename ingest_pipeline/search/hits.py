"""What a search answers with: one hit per chunk, with its citation and each ranking's score, the one shape the CLI
and the API both show."""

from __future__ import annotations

from dataclasses import dataclass

# A vector-mode snippet: the chunk's first characters, cut at a word.
EXCERPT_CHARS = 240


@dataclass(frozen=True)
class Hit:
    """`score` is the mode's own: cosine similarity (vector), ts_rank_cd (keyword) or the fused RRF score (hybrid).
    The components are None where that ranking did not run (or, for ranks, did not place the chunk in its top N)."""

    document_id: str
    source: str
    page_start: int
    page_end: int
    heading_path: tuple[str, ...]
    score: float
    text: str
    chunk_id: str = ""
    external_id: str | None = None
    media_type: str | None = None
    snippet: str = ""
    vector_similarity: float | None = None
    vector_rank: int | None = None
    keyword_score: float | None = None
    keyword_rank: int | None = None
    fused_score: float | None = None

    @property
    def pages(self) -> str:
        return str(self.page_start) if self.page_start == self.page_end else f"{self.page_start}-{self.page_end}"


def leading_excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of `text` on one line, up to `limit` characters, cut at a word and marked when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut + " …"
