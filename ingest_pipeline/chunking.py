"""Cutting cleaned pages into token-bounded, heading-aware chunks for the embedding model."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from ingest_pipeline.models import Chunk, Page
from ingest_pipeline.embedding_models import MAX_TOKENS_PER_INPUT
from ingest_pipeline.tokens import CHARS_PER_TOKEN_CEILING, MAX_TOKENS_PER_CHARACTER
from ingest_pipeline.tokens import count_tokens, split_within, suffix_within

# Chunk size and overlap unless INGEST_CHUNK_TOKENS and INGEST_CHUNK_OVERLAP say otherwise.
DEFAULT_MAX_TOKENS = 512
DEFAULT_OVERLAP_TOKENS = 64
# A heading starts a new chunk unless the open chunk is still under this share of max_tokens.
SMALL_CHUNK_SHARE = 0.25
MAX_HEADING_TITLE_CHARS = 200
BLOCK_SEPARATOR = "\n\n"

_HEADING = re.compile(r"(#{1,6})\s+(\S.*)")
_CLOSING_HASHES = re.compile(r"\s+#+$")
_LIST_ITEM = re.compile(r"(?:[-*+•]|\d{1,9}[.)])\s")
# Where an over-long block may be cut: a line break, spaces after sentence punctuation (or a
# closing quote or bracket), or right after a CJK full stop, which takes no space.
_BOUNDARY = re.compile(r"[^\S\n]*\n\s*|(?<=[.!?…:;\"'”’)\]])[^\S\n]+|(?<=[。！？])")
_WHITESPACE = re.compile(r"\s")
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
class _Piece:
    """A stripped, non-empty run of text from one block that a chunk takes whole."""

    text: str
    tokens: int
    page: int
    path: tuple[str, ...]
    joiner: str  # what separates it from the piece before when both land in one chunk
    heading: bool = False
    opens_section: bool = False


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
    for ordinal, (pieces, text, tokens) in enumerate(_drafts(_pieces(pages, options), options)):
        numbers = [piece.page for piece in pieces]
        yield Chunk(ordinal, text, tokens, min(numbers), max(numbers), pieces[0].path)


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


def _pieces(pages: Iterable[Page], options: ChunkingOptions) -> Iterator[_Piece]:
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
                yield _Piece(part, tokens, page.number, path, joiner, heading, heading and index == 0)


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


class _Stream:
    """Pieces in order, with room to put back those a chunk could not take (latest first)."""

    def __init__(self, pieces: Iterator[_Piece]):
        self._pieces = pieces
        self._returned: list[_Piece] = []

    def next(self) -> _Piece | None:
        return self._returned.pop() if self._returned else next(self._pieces, None)

    def push(self, piece: _Piece) -> None:
        self._returned.append(piece)


_Draft = tuple[list[_Piece], str, int]  # a chunk's pieces, text and token count


def _drafts(pieces: Iterator[_Piece], options: ChunkingOptions) -> Iterator[_Draft]:
    stream, previous = _Stream(pieces), []
    while (first := stream.next()) is not None:
        overlap = [] if first.opens_section else _overlap(previous, first, options)
        body = _fill(overlap, first, stream, options)
        previous, text, tokens = _verified(overlap, body, stream, options)
        yield previous, text, tokens


def _cost(piece: _Piece) -> int:
    return piece.tokens + (1 if piece.joiner else 0)  # a separator is about one token


def _fill(overlap: list[_Piece], first: _Piece, stream: _Stream, options: ChunkingOptions) -> list[_Piece]:
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


def _release_trailing_headings(body: list[_Piece], stream: _Stream) -> None:
    """A heading belongs with what follows it: hand trailing headings on to the next chunk."""
    end = len(body)
    while end and body[end - 1].heading:
        end -= 1
    if 0 < end < len(body):
        for piece in reversed(body[end:]):
            stream.push(piece)
        del body[end:]


def _verified(overlap: list[_Piece], body: list[_Piece], stream: _Stream, options: ChunkingOptions) -> _Draft:
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


def _overlap(previous: list[_Piece], first: _Piece, options: ChunkingOptions) -> list[_Piece]:
    """The tail of the previous chunk to repeat before `first`: whole pieces, then part of one."""
    budget = min(options.overlap_tokens, options.max_tokens - _cost(first))
    taken: list[_Piece] = []
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


def _tail(piece: _Piece, budget: int) -> _Piece | None:
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
