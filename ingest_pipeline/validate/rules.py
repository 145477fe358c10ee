"""Cleaning extracted text and deciding whether a document has enough readable text to ingest."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.ids import text_hash
from ingest_pipeline.domain.models import Page

DEFAULT_MIN_CHARACTERS = 50
# Word-exported PDFs often map a few bullets to private-use glyphs; a tenth of the text is no accident.
MAX_UNREADABLE_SHARE = 0.10
# Letters *or digits*: tables of figures are legitimate, symbol soup from a font without a
# Unicode mapping is not.
MIN_WORD_CHARACTER_SHARE = 0.40
PAGE_SEPARATOR = "\n\n"
# Unbroken runs this long of the base64 or hex alphabet are encoded data (an embedded image, a key
# dump), not words; CJK text, which has no spaces either, is not in that alphabet.
_ENCODED_RUN = re.compile(r"[A-Za-z0-9+/=_-]{200,}")
MAX_ENCODED_SHARE = 0.50

EMPTY_REASON = (
    "no text could be extracted: the file may be a scanned image without a text layer, or empty"
)
_UNREADABLE_CATEGORIES = frozenset({"Co", "Cn", "Cs"})  # private use, unassigned, surrogates
_REPLACEMENT_CHARACTER = "\ufffd"

_LINE_BREAKS = {"\r": "\n", "\v": "\n", "\f": "\n", "\x1c": "\n", "\x1d": "\n", "\x1e": "\n",
                "\x85": "\n", "\u2028": "\n", "\u2029": "\n\n"}
# Invisible characters that only steer rendering: soft hyphen, zero-width space/joiners,
# word joiner, BOM, Mongolian vowel separator, bidi marks/embeddings/isolates, invisible operators.
_INVISIBLE = ("\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e\u200e\u200f"
              "\u202a\u202b\u202c\u202d\u202e\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069")


def _translation_table() -> dict[int, str | None]:
    controls = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
    table: dict[int, str | None] = {code: None for code in controls}
    table.update({code: None for code in range(0xD800, 0xE000)})  # lone surrogates
    table.update({ord(char): None for char in _INVISIBLE})
    table.update({ord(char): replacement for char, replacement in _LINE_BREAKS.items()})
    table[ord("\n")] = "\n"
    table[ord("\t")] = " "
    return table


_TRANSLATION = _translation_table()
# Any character the table changes ("\n" maps to itself). Most text has none, and a regex search
# finds that out several times faster than translate() walks the text through a dict.
_TRANSLATED = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_TRANSLATION) if code != ord("\n")) + "]")


def clean_text(text: str) -> str:
    """NFKC text with `\\n` line breaks, no control or invisible characters, no trailing spaces
    and at most one blank line in a row; headings, list markers and paragraph breaks survive.

    Idempotent: cleaning clean text changes nothing.
    """
    # Strip invisibles before NFKC so that what they separated gets composed properly.
    text = text.replace("\r\n", "\n")
    if _TRANSLATED.search(text):
        text = text.translate(_TRANSLATION)
    text = unicodedata.normalize("NFKC", text)
    lines = [line.rstrip() for line in text.split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip("\n")


def clean_pages(pages: Iterable[Page]) -> list[Page]:
    """Every page cleaned, keeping its number (empty pages stay, so page numbers stay true)."""
    return [Page(page.number, clean_text(page.text)) for page in pages]


@dataclass(frozen=True)
class Assessment:
    """What validation found: `characters` counts non-whitespace characters of the cleaned text,
    `text_hash` is `ids.text_hash` of all cleaned pages joined, `reason` is None when acceptable."""

    characters: int
    text_hash: str
    reason: str | None = None

    @property
    def acceptable(self) -> bool:
        return self.reason is None

    def raise_if_rejected(self) -> None:
        if self.reason is not None:
            raise DocumentRejected(self.reason)


def assess(pages: Sequence[Page], min_characters: int = DEFAULT_MIN_CHARACTERS) -> Assessment:
    """Judge a document's extracted text.

    Pages are cleaned here (clean_text is idempotent, so already-clean pages are fine): the hash
    and the verdict always describe the text the later stages will see.
    """
    return assess_clean(clean_pages(pages), min_characters)


def assess_clean(cleaned: Sequence[Page], min_characters: int = DEFAULT_MIN_CHARACTERS) -> Assessment:
    """`assess` for pages that `clean_pages` returned (the validation stage keeps them, so it cleans once)."""
    text = PAGE_SEPARATOR.join(page.text for page in cleaned)
    counts = Counter(text)
    characters = sum(n for char, n in counts.items() if not char.isspace())
    reason = _rejection(counts, characters, min_characters) or _encoded_data(text, characters)
    return Assessment(characters, text_hash(text), reason)


def _rejection(counts: Counter[str], characters: int, min_characters: int) -> str | None:
    if characters == 0:
        return EMPTY_REASON
    if characters < min_characters:
        return (
            f"only {characters} non-space characters of text could be extracted (at least "
            f"{min_characters} are needed): the file may be mostly images or a scan without a text layer"
        )
    unreadable = sum(n for char, n in counts.items() if _is_unreadable(char)) / characters
    if unreadable > MAX_UNREADABLE_SHARE:
        return (
            f"{unreadable:.1%} of the extracted characters are unreadable (replacement, private-use or "
            "unassigned code points): the file's fonts probably lack a Unicode mapping"
        )
    words = sum(n for char, n in counts.items() if _is_word_character(char)) / characters
    if words < MIN_WORD_CHARACTER_SHARE:
        return (
            f"only {words:.1%} of the extracted non-space characters are letters or digits (at least "
            f"{MIN_WORD_CHARACTER_SHARE:.0%} expected): the text looks garbled, e.g. a font without a "
            "Unicode mapping or a binary file"
        )
    return None


def _encoded_data(text: str, characters: int) -> str | None:
    encoded = sum(match.end() - match.start() for match in _ENCODED_RUN.finditer(text)) / characters
    if encoded <= MAX_ENCODED_SHARE:
        return None
    return (
        f"{encoded:.0%} of the extracted text is unbroken strings of letters and digits without a space, "
        "hundreds of characters long: encoded data (such as base64 or hex), not prose"
    )


def _is_word_character(char: str) -> bool:
    # Combining marks count: Devanagari or Thai vowel signs are a third of the letters of a word.
    return char.isalnum() or unicodedata.category(char).startswith("M")


def _is_unreadable(char: str) -> bool:
    return char == _REPLACEMENT_CHARACTER or unicodedata.category(char) in _UNREADABLE_CATEGORIES
