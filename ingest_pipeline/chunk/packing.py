"""The second half of chunking: pieces packed into token-bounded, heading-aware chunks, each opening with an
overlap of the chunk before."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from ingest_pipeline.chunk.blocks import ChunkingOptions, Piece, pieces
from ingest_pipeline.domain.models import Chunk, Page
from ingest_pipeline.domain.tokens import CHARS_PER_TOKEN_CEILING, count_tokens, suffix_within

# A heading starts a new chunk unless the open chunk is still under this share of max_tokens.
SMALL_CHUNK_SHARE = 0.25
_WHITESPACE = re.compile(r"\s")


def chunk_pages(pages: Iterable[Page], options: ChunkingOptions = ChunkingOptions()) -> list[Chunk]:
    """All chunks of a document's cleaned pages (`validation.clean_text`), in order."""
    return list(iter_chunks(pages, options))


def iter_chunks(pages: Iterable[Page], options: ChunkingOptions = ChunkingOptions()) -> Iterator[Chunk]:
    """Chunks one at a time, reading pages as it goes: never more than a page of text at once.

    Each chunk holds at most `max_tokens` (counted exactly on its final text). Blocks (headings,
    paragraphs, list runs, table runs) are packed whole; a heading starts a new chunk unless the open
    one, overlap included, is under SMALL_CHUNK_SHARE of `max_tokens`; it never ends one. A block
    over `max_tokens` is cut at sentence ends and line breaks, and any part still over
    `max_tokens - overlap_tokens` at token boundaries (moved back to a space when there is one).
    A chunk that does not open with a heading begins with up to `overlap_tokens` from the end of
    the previous chunk: whole trailing pieces (sentences, list runs...), then a token-sliced tail
    moved forward to a word start. Overlap never reaches back past a heading.
    """
    for ordinal, (taken, text, tokens) in enumerate(_drafts(pieces(pages, options), options)):
        numbers = [piece.page for piece in taken]
        yield Chunk(ordinal, text, tokens, min(numbers), max(numbers), taken[0].path)


class _Stream:
    """Pieces in order, with room to put back those a chunk could not take (latest first)."""

    def __init__(self, parts: Iterator[Piece]):
        self._pieces = parts
        self._returned: list[Piece] = []

    def next(self) -> Piece | None:
        return self._returned.pop() if self._returned else next(self._pieces, None)

    def push(self, piece: Piece) -> None:
        self._returned.append(piece)


_Draft = tuple[list[Piece], str, int]  # a chunk's pieces, text and token count


def _drafts(parts: Iterator[Piece], options: ChunkingOptions) -> Iterator[_Draft]:
    stream, previous = _Stream(parts), []
    while (first := stream.next()) is not None:
        overlap = [] if first.opens_section else _overlap(previous, first, options)
        body = _fill(overlap, first, stream, options)
        previous, text, tokens = _verified(overlap, body, stream, options)
        yield previous, text, tokens


def _cost(piece: Piece) -> int:
    return piece.tokens + (1 if piece.joiner else 0)  # a separator is about one token


def _fill(overlap: list[Piece], first: Piece, stream: _Stream, options: ChunkingOptions) -> list[Piece]:
    """`first` and the pieces after it that fit beside `overlap`, by estimate."""
    body, size = [first], sum(_cost(piece) for piece in [*overlap, first])
    while (piece := stream.next()) is not None:
        new_section = piece.opens_section and size >= options.max_tokens * SMALL_CHUNK_SHARE
        if new_section or size + _cost(piece) > options.max_tokens:
            stream.push(piece)
            _release_trailing_headings(body, stream)
            break
        body.append(piece)
        size += _cost(piece)
    return body


def _release_trailing_headings(body: list[Piece], stream: _Stream) -> None:
    """A heading belongs with what follows it: hand trailing headings on to the next chunk."""
    end = len(body)
    while end and body[end - 1].heading:
        end -= 1
    if 0 < end < len(body):
        for piece in reversed(body[end:]):
            stream.push(piece)
        del body[end:]


def _verified(overlap: list[Piece], body: list[Piece], stream: _Stream, options: ChunkingOptions) -> _Draft:
    """The chunk with its exact token count, shedding pieces if the estimate fell short."""
    while True:
        pieces = overlap + body
        text = (pieces[0].text + "".join(piece.joiner + piece.text for piece in pieces[1:])).strip()
        single = len(pieces) == 1 and text == pieces[0].text
        tokens = pieces[0].tokens if single else count_tokens(text)
        if tokens <= options.max_tokens:
            return pieces, text, tokens
        # Tokens can merge differently across a join (rare): give back the last piece, or the overlap.
        if len(body) > 1:
            stream.push(body.pop())
        else:
            overlap = []


def _overlap(previous: list[Piece], first: Piece, options: ChunkingOptions) -> list[Piece]:
    """The tail of the previous chunk to repeat before `first`: whole pieces, then part of one."""
    budget = min(options.overlap_tokens, options.max_tokens - _cost(first))
    taken: list[Piece] = []
    for piece in reversed(previous):
        if budget <= 0 or piece.heading:
            break
        if _cost(piece) <= budget:
            taken.append(piece)
            budget -= _cost(piece)
            continue
        tail = _tail(piece, budget)
        taken.extend([tail] if tail else [])
        break
    return taken[::-1]


def _tail(piece: Piece, budget: int) -> Piece | None:
    """The end of `piece` within `budget` tokens. It never starts inside a word, unless that "word"
    is an unbroken run too long to be one (text without spaces: CJK, encoded data)."""
    window = budget * CHARS_PER_TOKEN_CEILING
    unbroken = len(piece.text.rsplit(maxsplit=1)[-1]) > window

    def from_word_start(tail: str) -> str:
        start = len(piece.text) - len(tail)
        if tail and start > 0 and not (piece.text[start - 1].isspace() or tail[0].isspace()):
            gap = _WHITESPACE.search(tail)
            tail = tail[gap.start() :] if gap else tail if unbroken else ""
        return tail.strip()

    text, tokens = suffix_within(piece.text[-window:], budget, from_word_start)
    return replace(piece, text=text, tokens=tokens, joiner="") if text else None
