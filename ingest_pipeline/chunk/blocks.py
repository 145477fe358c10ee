"""The first half of chunking: cleaned pages read as blocks (headings, paragraphs, lists, tables), each cut
into pieces a chunk can take whole, with its page and heading path."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ingest_pipeline.domain.models import Page
from ingest_pipeline.domain.tokens import (
    CHARS_PER_TOKEN_CEILING,
    MAX_TOKENS_PER_CHARACTER,
    count_tokens,
    split_within,
)
from ingest_pipeline.embed.models import MAX_TOKENS_PER_INPUT

# Chunk size and overlap unless INGEST_CHUNK_TOKENS and INGEST_CHUNK_OVERLAP say otherwise.
DEFAULT_MAX_TOKENS = 512
DEFAULT_OVERLAP_TOKENS = 64
MAX_HEADING_TITLE_CHARS = 200
BLOCK_SEPARATOR = "\n\n"

_HEADING = re.compile(r"(#{1,6})\s+(\S.*)")
_CLOSING_HASHES = re.compile(r"\s+#+$")
_LIST_ITEM = re.compile(r"(?:[-*+•]|\d{1,9}[.)])\s")
# Where an over-long block may be cut: a line break, spaces after sentence punctuation (or a
# closing quote or bracket), or right after a CJK full stop, which takes no space.
_BOUNDARY = re.compile(r"[^\S\n]*\n\s*|(?<=[.!?…:;\"'”’)\]])[^\S\n]+|(?<=[。！？])")
_HEADING_KIND, _LIST_KIND, _TABLE_KIND, _PARAGRAPH_KIND = "heading", "list", "table", "paragraph"


@dataclass(frozen=True)
class ChunkingOptions:
    """Chunk sizes, in tokens of `tokens.ENCODING_NAME`."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS
    hard_limit_tokens: int = MAX_TOKENS_PER_INPUT

    def __post_init__(self) -> None:
        if not 0 < self.max_tokens <= self.hard_limit_tokens:
            raise ValueError(f"max_tokens must be from 1 to hard_limit_tokens ({self.hard_limit_tokens}), "
                             f"the embedding model's input limit; got {self.max_tokens}")
        if not 0 <= self.overlap_tokens < self.max_tokens:
            raise ValueError(f"overlap_tokens must be from 0 to below max_tokens ({self.max_tokens}); "
                             f"got {self.overlap_tokens}")
        if self.piece_tokens < MAX_TOKENS_PER_CHARACTER:
            raise ValueError(f"max_tokens - overlap_tokens must be at least {MAX_TOKENS_PER_CHARACTER} (one "
                             f"character can take that many tokens); got {self.piece_tokens}")

    @property
    def piece_tokens(self) -> int:
        """Size of the parts an over-long block is cut into: each leaves room for a full overlap."""
        return self.max_tokens - self.overlap_tokens


@dataclass(frozen=True)
class Piece:
    """A stripped, non-empty run of text from one block that a chunk takes whole."""

    text: str
    tokens: int
    page: int
    path: tuple[str, ...]
    joiner: str  # what separates it from the piece before when both land in one chunk
    heading: bool = False
    opens_section: bool = False


def _line_kind(line: str) -> str | None:
    stripped = line.strip()
    if not stripped:
        return None
    if _HEADING.match(stripped):
        return _HEADING_KIND
    if _LIST_ITEM.match(stripped):
        return _LIST_KIND
    if " | " in stripped or stripped.startswith("|"):
        return _TABLE_KIND
    return _PARAGRAPH_KIND


def _continues(kind: str | None, line_kind: str | None) -> bool:
    """Whether a line of `line_kind` extends the open block of `kind` instead of starting one."""
    if kind == _HEADING_KIND or line_kind in (None, _HEADING_KIND):
        return False
    if line_kind == _PARAGRAPH_KIND:  # a wrapped line of a paragraph or of a list item
        return kind in (_PARAGRAPH_KIND, _LIST_KIND)
    return line_kind == kind


def _page_blocks(text: str) -> Iterator[tuple[str, str]]:
    """(kind, text) of each block of one page's text, in order."""
    kind, lines = None, []
    for line in text.split("\n"):
        line_kind = _line_kind(line)
        if lines and not _continues(kind, line_kind):
            yield kind, "\n".join(lines).strip()
            lines = []
        if line_kind is not None:
            kind = kind if lines else line_kind
            lines.append(line.rstrip())
    if lines:
        yield kind, "\n".join(lines).strip()


def _heading(text: str) -> tuple[int, str]:
    marks, title = _HEADING.match(text).groups()
    return len(marks), _CLOSING_HASHES.sub("", title).strip()[:MAX_HEADING_TITLE_CHARS]


def pieces(pages: Iterable[Page], options: ChunkingOptions) -> Iterator[Piece]:
    """Every piece of the pages in order, each knowing the headings it sits under."""
    levels: list[tuple[int, str]] = []  # the enclosing headings, outermost first
    for page in pages:
        for kind, text in _page_blocks(page.text):
            heading = kind == _HEADING_KIND
            if heading:
                level, title = _heading(text)
                levels = [entry for entry in levels if entry[0] < level] + [(level, title)]
            path = tuple(title for _, title in levels)
            for index, (joiner, part, tokens) in enumerate(_split(text, options)):
                joiner = joiner if index else BLOCK_SEPARATOR
                yield Piece(part, tokens, page.number, path, joiner, heading, heading and index == 0)


def _count_within(text: str, limit: int) -> int | None:
    """Token count of `text` if it is within `limit`, else None (long texts are not even counted)."""
    if len(text) > limit * CHARS_PER_TOKEN_CEILING:
        return None
    tokens = count_tokens(text)
    return tokens if tokens <= limit else None


def _split(text: str, options: ChunkingOptions) -> Iterator[tuple[str, str, int]]:
    """(joiner, text, tokens) parts of one block: the block itself if it fits in a chunk."""
    whole = _count_within(text, options.max_tokens)
    if whole is not None:
        yield "", text, whole
        return
    for joiner, sentence in _sentences(text):
        tokens = _count_within(sentence, options.piece_tokens)
        if tokens is not None:
            yield joiner, sentence, tokens
            continue
        for index, (inner, part, tokens) in enumerate(split_within(sentence, options.piece_tokens)):
            yield (inner if index else joiner), part, tokens


def _sentences(text: str) -> Iterator[tuple[str, str]]:
    """(joiner, sentence) pairs; the joiners are the original separators, so nothing is lost."""
    start, joiner = 0, ""
    for match in _BOUNDARY.finditer(text):
        if match.start() > start:
            yield joiner, text[start : match.start()]
            joiner = ""
        joiner += match.group()
        start = match.end()
    if start < len(text):
        yield joiner, text[start:]
