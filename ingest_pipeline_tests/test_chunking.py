"""Chunks fit max_tokens, cover the text in order with a true overlap, follow headings and pages, and never vary."""

from __future__ import annotations

import functools
import itertools
import random
import re
import string

import pytest

from ingest_pipeline.chunk.blocks import ChunkingOptions
from ingest_pipeline.chunk.packing import chunk_pages
from ingest_pipeline.domain.models import Chunk, Page
from ingest_pipeline.domain.tokens import count_tokens


def _prose(tag: str, sentences: int, rng: random.Random, counter=itertools.count()) -> str:
    """Sentences of words unique across the whole test module, tagged (e.g. with their page)."""
    return " ".join(
        " ".join(f"{tag}x{next(counter)}" for _ in range(rng.randint(3, 25))).capitalize() + "."
        for _ in range(sentences)
    )


def _sections_document(rng: random.Random) -> list[Page]:
    page_one = (f"# Guide\n\n{_prose('p1', 12, rng)}\n\n## Setup\n\n- {_prose('p1', 1, rng)}\n"
                f"- {_prose('p1', 2, rng)}\n\n| p1xtableA | p1xtableB |\n| p1xtableC | p1xtableD |\n\n"
                f"{_prose('p1', 5, rng)}")
    page_two = f"{_prose('p2', 6, rng)}\n\n### Linux\n\n{_prose('p2', 30, rng)}"
    page_four = f"## Usage\n\n{_prose('p4', 3, rng)}\n\n# Appendix\n\n{_prose('p4', 40, rng)}"
    return [Page(1, page_one), Page(2, page_two), Page(3, "\n\n"), Page(4, page_four)]


_EMOJI = ["😀", "👍🏽", "🇫🇷", "🧑‍💻"]  # no ZWJ sequence repeats a part: fragments stay unambiguous


def _documents() -> dict[str, list[Page]]:
    rng = random.Random(20240601)
    letters = string.ascii_letters + string.digits
    long_words = " ".join("".join(rng.choices(letters, k=rng.randint(40, 300))) for _ in range(60))
    cjk = "。".join("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(5, 60)))
                   for _ in range(150))
    return {
        "sections": _sections_document(rng),
        "long paragraphs": [Page(1, _prose("p1", 250, rng)), Page(2, _prose("p2", 250, rng))],
        "no spaces": [Page(1, "".join(rng.choices(letters, k=30_000)))],
        "long words": [Page(1, long_words)],
        "cjk": [Page(1, cjk)],
        "emoji": [Page(1, " ".join(f"{rng.choice(_EMOJI)}{n}" for n in range(1500)))],
        "list": [Page(1, "\n".join(f"- item {n} of the list" for n in range(1500)))],
    }


_DOCUMENTS = _documents()
_OPTIONS = [(8, 0), (8, 4), (16, 8), (33, 5), (64, 16), (64, 60), (128, 0), (512, 64), (1000, 200)]


@functools.cache
def _chunked(name: str, max_tokens: int, overlap_tokens: int) -> list[Chunk]:
    return chunk_pages(_DOCUMENTS[name], ChunkingOptions(max_tokens, overlap_tokens))


def _squeezed(text: str) -> str:
    return "".join(text.split())


def _overlaps(pages: list[Page], chunks: list[Chunk]) -> list[int]:
    """Asserts each chunk is a run of the document (spaces aside) starting within the previous chunk
    and reaching past it, and the last reaching the end; returns each chunk's repeated characters.

    The latest such run is taken, so repetitive text (emoji) cannot make a chunk look misplaced.
    """
    document = _squeezed("".join(page.text for page in pages))
    position, previous_start, overlaps = 0, 0, []
    for chunk in chunks:
        squeezed = _squeezed(chunk.text)
        start = document.rfind(squeezed, previous_start, position + len(squeezed))
        assert previous_start <= start <= position < start + len(squeezed), chunk
        overlaps.append(position - start)
        position, previous_start = start + len(squeezed), start
    assert position == len(document)
    return overlaps


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), _OPTIONS)
@pytest.mark.parametrize("name", _DOCUMENTS)
def test_chunks_fit_and_count_exactly(name, max_tokens, overlap_tokens):
    chunks = _chunked(name, max_tokens, overlap_tokens)
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text and chunk.text == chunk.text.strip()
        assert 0 < chunk.token_count == count_tokens(chunk.text) <= max_tokens


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), _OPTIONS)
@pytest.mark.parametrize("name", _DOCUMENTS)
def test_chunks_cover_the_text_in_order(name, max_tokens, overlap_tokens):
    overlaps = _overlaps(_DOCUMENTS[name], _chunked(name, max_tokens, overlap_tokens))
    if overlap_tokens == 0:
        assert not any(overlaps)


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), [(16, 4), (64, 16), (200, 40), (512, 64)])
def test_page_ranges_are_the_pages_a_chunk_quotes(max_tokens, overlap_tokens):
    for chunk in _chunked("sections", max_tokens, overlap_tokens):
        quoted = {int(page) for page in re.findall(r"\bp(\d)x", chunk.text, flags=re.IGNORECASE)}
        if quoted:  # a chunk of headings only quotes no tagged word
            assert (chunk.page_start, chunk.page_end) == (min(quoted), max(quoted)), chunk


def test_a_chunk_spans_the_page_break_inside_a_section():
    chunks = _chunked("sections", 512, 64)
    assert any((chunk.page_start, chunk.page_end) == (1, 2) for chunk in chunks)


_SECTIONS = {
    "# Guide": ("Guide",),
    "## Setup": ("Guide", "Setup"),
    "### Linux": ("Guide", "Setup", "Linux"),
    "## Usage": ("Guide", "Usage"),
    "# Appendix": ("Appendix",),
}


@pytest.mark.parametrize(
    ("max_tokens", "overlap_tokens", "merged"), [(200, 20, set()), (512, 64, {"# Appendix"})]
)
def test_headings_start_chunks_with_their_path(max_tokens, overlap_tokens, merged):
    """A heading opens a chunk, without overlap, unless the chunk before it is under a quarter full
    (the 110-token "Usage" section takes "# Appendix" in when chunks hold 512)."""
    chunks = _chunked("sections", max_tokens, overlap_tokens)
    overlaps = _overlaps(_DOCUMENTS["sections"], chunks)
    opening = {chunk.text.split("\n")[0]: (chunk.heading_path, overlap)
               for chunk, overlap in zip(chunks, overlaps, strict=True) if chunk.text.startswith("#")}
    assert opening == {line: (path, 0) for line, path in _SECTIONS.items() if line not in merged}
    for chunk in chunks:
        for inside in re.finditer(r"\n(#+ .*)", chunk.text):
            assert inside.group(1) in merged
            assert count_tokens(chunk.text[: inside.start()]) < max_tokens / 4
    assert chunks[-1].heading_path == ("Appendix",)


def test_small_sections_share_a_chunk_and_paths_follow_levels():
    text = "# A\n\nShort intro.\n\n### C\n\nDeep but short.\n\n## B\n\nAlso short."
    chunks = chunk_pages([Page(1, text)], ChunkingOptions(max_tokens=64, overlap_tokens=8))
    assert [(chunk.text, chunk.heading_path) for chunk in chunks] == [(text, ("A",))]
    chunks = chunk_pages([Page(1, text)], ChunkingOptions(max_tokens=10, overlap_tokens=2))
    assert [chunk.heading_path for chunk in chunks] == [("A",), ("A", "C"), ("A", "B")]


# Words that are one token with or without the space before them, so N tokens are N words. None is
# longer than 8 letters: a tail of one token looks back CHARS_PER_TOKEN_CEILING characters, and takes
# a longer word for an unbroken run (text without spaces) it may start inside.
_ONE_TOKEN_WORDS = ("time year people way day man thing woman life child world school state family student "
                    "group country problem hand part place case week company system program question work "
                    "number night point home water room mother area money story fact month lot right study "
                    "book eye job word business issue side kind head house service friend father power hour "
                    "game line end member law car city name team minute idea kid body back parent face level "
                    "office door health person art war history party result change reason research girl "
                    "moment air teacher force").split()
# One paragraph without sentence ends: the chunker can only cut it at token boundaries, between words.
_ONE_TOKEN_WORD_PAGES = [Page(1, " ".join(_ONE_TOKEN_WORDS[n % len(_ONE_TOKEN_WORDS)] for n in range(4000)))]


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), [(64, 1), (64, 8), (64, 16), (128, 40), (512, 64)])
def test_a_chunk_starts_with_the_last_overlap_tokens_of_the_previous_chunk(max_tokens, overlap_tokens):
    """The overlap is a token-sliced tail moved forward to a word start; in one-token words, with an
    overlap shorter than the parts the paragraph is cut into, that is exactly the last N words."""
    assert all(count_tokens(word) == count_tokens(f" {word}") == 1 for word in _ONE_TOKEN_WORDS)
    following = dict(itertools.pairwise([*_ONE_TOKEN_WORDS, _ONE_TOKEN_WORDS[0]]))
    chunks = chunk_pages(_ONE_TOKEN_WORD_PAGES, ChunkingOptions(max_tokens, overlap_tokens))
    assert len(chunks) > 4
    for previous, chunk in itertools.pairwise(chunks):
        earlier, words = previous.text.split(), chunk.text.split()
        repeated = earlier[-overlap_tokens:]
        assert count_tokens(" ".join(repeated)) == overlap_tokens
        # The word after the repeated ones is the one after the previous chunk: no more, no less repeated.
        assert words[: overlap_tokens + 1] == [*repeated, following[earlier[-1]]], chunk.ordinal


@pytest.mark.parametrize("overlap_tokens", [0, 1, 8, 16, 40])
def test_overlap_in_prose_repeats_whole_words_within_overlap_tokens(overlap_tokens):
    """Over sentences of several-token words the tail is shorter than N tokens (it starts at a word and
    whole sentences count their separator), but it is never a part of a word and never longer."""
    chunks = _chunked("long paragraphs", 64, overlap_tokens)
    overlaps = _overlaps(_DOCUMENTS["long paragraphs"], chunks)
    for (previous, chunk), overlap in zip(itertools.pairwise(chunks), overlaps[1:], strict=True):
        words, earlier = chunk.text.split(), previous.text.split()
        repeated = earlier[earlier.index(words[0]):] if words[0] in earlier else []
        assert words[: len(repeated)] == repeated
        # Every repeated character is in a whole repeated word: the tail never starts inside one.
        assert len("".join(repeated)) == overlap, chunk.ordinal
        assert count_tokens(" ".join(repeated)) <= overlap_tokens
    repeats = sum(chunk.text.split()[0] in previous.text.split()
                  for previous, chunk in itertools.pairwise(chunks))
    if overlap_tokens == 0:
        assert repeats == 0
    if overlap_tokens >= 16:
        assert repeats >= 0.9 * (len(chunks) - 1)


def test_over_long_paragraphs_are_cut_at_sentence_ends():
    chunks = _chunked("long paragraphs", 128, 0)
    assert all(chunk.text.endswith(".") for chunk in chunks)


def test_list_runs_stay_together():
    chunks = _chunked("list", 512, 64)
    assert "- item 0 of the list\n- item 1 of the list\n- item 2 of the list" in chunks[0].text


@pytest.mark.parametrize("name", _DOCUMENTS)
def test_chunking_is_deterministic(name):
    assert chunk_pages(_DOCUMENTS[name]) == chunk_pages(_DOCUMENTS[name]) == _chunked(name, 512, 64)


@pytest.mark.parametrize("pages", [[], [Page(1, "")], [Page(1, "  \n\n "), Page(2, "\n")]])
def test_no_text_gives_no_chunks(pages):
    assert chunk_pages(pages) == []


def test_special_token_markers_are_ordinary_text():
    (chunk,) = chunk_pages([Page(1, "Before <|endoftext|> after.")])
    assert chunk.text == "Before <|endoftext|> after."


def test_a_two_megabyte_line_without_spaces_is_chunked():
    rng = random.Random(5)
    pages = [Page(1, "".join(rng.choices(string.ascii_letters + string.digits, k=2_000_000)))]
    chunks = chunk_pages(pages)
    assert max(chunk.token_count for chunk in chunks) <= 512
    _overlaps(pages, chunks)
