"""A PDF's streams and pages as its objects declare them, read from the bytes without a PDF library.

Just enough of the syntax (ISO 32000 §7.3) to read a stream's dictionary however it is written: any
length, nested dictionaries and arrays, strings holding brackets, comments, names with `#xx` escapes,
a filter array. Objects inside object streams are not seen, so pages declared there are not either.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_WHITE = rb"\x00\t\n\x0c\r "
_HEADER = re.compile(rb"(?<![0-9])([0-9]{1,10})[%s]+([0-9]{1,5})[%s]+obj(?![A-Za-z])" % (_WHITE, _WHITE))
_TOKEN = re.compile(
    rb"(?P<space>[%s]+|%%[^\r\n]*)|(?P<open_dict><<)|(?P<close_dict>>>)|(?P<open_array>\[)|(?P<close_array>\])"
    rb"|(?P<name>/[^%s/\[\]<>(){}%%]*)|(?P<hex><[0-9A-Fa-f%s]*>)|(?P<string>\()"
    rb"|(?P<number>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))|(?P<keyword>[A-Za-z]+)" % (_WHITE, _WHITE, _WHITE))
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb"[%s]*stream(?:\r\n|\n|\r)" % _WHITE)
_STRING_PART = re.compile(rb"[^()\\]*(?:\\.[^()\\]*)*", re.DOTALL)
# An object's dictionary longer than this is not read (its stream is still checked: see `pdf_streams`).
_MAX_OBJECT_BYTES = 1 << 20
_FLATE = {"FlateDecode", "Fl"}


class Name(str):
    """A PDF name, its `#xx` escapes decoded (`/Fl#61teDecode` is `FlateDecode`)."""


@dataclass(frozen=True)
class Reference:
    number: int


@dataclass(frozen=True)
class Stream:
    """Where a stream object's data starts, and what its dictionary says about decoding it."""

    number: int
    start: int
    flate_first: bool
    image: bool


@dataclass
class Objects:
    streams: list[Stream] = field(default_factory=list)
    # The object numbers of each page's content streams.
    page_contents: list[list[int]] = field(default_factory=list)


def read_objects(data: mmap.mmap) -> Objects:
    """Every stream object and page object found by its `N G obj` header."""
    found = Objects()
    for header in _HEADER.finditer(data):
        parsed = parse_value(data, header.end())
        if parsed is None or not isinstance(parsed[0], dict):
            continue
        dictionary, end = parsed
        stream = _STREAM_START.match(data, end)
        if stream:
            found.streams.append(Stream(int(header.group(1)), stream.end(), _flate_first(dictionary),
                                        dictionary.get("Subtype") == "Image"))
        elif dictionary.get("Type") == "Page":
            found.page_contents.append(_references(dictionary.get("Contents")))
    return found


def _flate_first(dictionary: dict) -> bool:
    filters = dictionary.get("Filter")
    first = filters[0] if isinstance(filters, list) and filters else filters
    return first in _FLATE


def _references(value) -> list[int]:
    values = value if isinstance(value, list) else [value]
    return [item.number for item in values if isinstance(item, Reference)]


def parse_value(data, position: int) -> tuple[object, int] | None:
    """The object that starts at `position` and where it ends, or None if it is not well formed.

    Dictionaries become dicts (a repeated key: the last wins, as in pdfium), arrays lists, names `Name`,
    `N G R` a `Reference`; strings are skipped (read as b""). An explicit stack, so nesting costs no recursion."""
    limit = min(len(data), position + _MAX_OBJECT_BYTES)
    stack: list[tuple[str, list]] = []
    while position < limit:
        token = _TOKEN.match(data, position, limit)
        if token is None:
            return None
        position, kind = token.end(), token.lastgroup
        if kind == "space":
            continue
        if kind in ("open_dict", "open_array"):
            stack.append((kind, []))
            continue
        if kind in ("close_dict", "close_array"):
            if not stack or stack[-1][0] != "open" + kind[5:]:
                return None
            opened, items = stack.pop()
            value = _dictionary(items) if opened == "open_dict" else items
        elif kind == "string":
            position = _skip_string(data, position, limit)
            if position is None:
                return None
            value = b""
        else:
            value = _atom(kind, token.group(), stack[-1][1] if stack else None)
        if not stack:
            return value, position
        if value is not _CONSUMED:
            stack[-1][1].append(value)
    return None


_CONSUMED = object()


def _atom(kind: str, text: bytes, items: list | None):
    if kind == "name":
        return Name(_ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), text[1:]).decode("latin-1"))
    if kind == "number":
        return float(text) if b"." in text else int(text)
    if kind == "hex":
        return b""
    if text == b"R" and items is not None and len(items) >= 2 and all(type(item) is int for item in items[-2:]):
        number = items[-2]
        del items[-2:]
        items.append(Reference(number))
        return _CONSUMED
    return {b"true": True, b"false": False}.get(text)


def _dictionary(items: list) -> dict | None:
    if len(items) % 2:
        return None
    pairs = dict(zip(items[::2], items[1::2]))
    return pairs if all(isinstance(key, Name) for key in pairs) else None


def _skip_string(data, position: int, limit: int) -> int | None:
    """The position after a literal string's closing parenthesis (balanced ones nest, `\\` escapes)."""
    depth = 1
    while position < limit:
        position = _STRING_PART.match(data, position, limit).end()
        if position >= limit:
            return None
        depth += 1 if data[position:position + 1] == b"(" else -1
        position += 1
        if depth == 0:
            return position
    return None


def stream_keywords(data: mmap.mmap) -> Iterator[int]:
    """Where the data of every `stream` keyword would start, whether or not an object header was read."""
    for match in re.finditer(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)", data):
        yield match.end()
