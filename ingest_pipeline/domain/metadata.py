"""A caller's metadata on a document: the bounds it keeps, checked on the way in, and a read that no stored value can crash."""

from __future__ import annotations

import json
import re

# What metadata is for (a team, a source, tags to filter on) fits easily; the bounds keep one
# document's metadata from costing every listing, log line and run that loads it.
MAX_METADATA_BYTES = 32 * 1024
MAX_METADATA_DEPTH = 16
MAX_METADATA_KEYS = 512

# A JSON string, escapes included: removed before brackets are counted, so that "[" in a value is not nesting.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


class InvalidMetadata(ValueError):
    """Metadata that is not a bounded JSON object; the message says which bound, for the caller."""


def parse_metadata(raw: str) -> dict:
    """The JSON object `raw`, within every bound, else InvalidMetadata naming the bound it breaks."""
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_METADATA_BYTES:
        raise InvalidMetadata(f"metadata is {size:,} bytes; the limit is {MAX_METADATA_BYTES:,} bytes")
    value = read_metadata(raw)
    keys = _key_count(value)
    if keys > MAX_METADATA_KEYS:
        raise InvalidMetadata(f"metadata has {keys:,} keys in all; the limit is {MAX_METADATA_KEYS:,}")
    return value


def read_metadata(raw: str) -> dict:
    """The JSON object `raw` if it is one nested at most MAX_METADATA_DEPTH deep, else InvalidMetadata.

    The depth is counted on the text first: a deeper value would make every decoder (json, pydantic,
    Dagster's metadata) recurse, and fail far from here, for everyone that loads it.
    """
    depth = nesting_depth(raw)
    if depth > MAX_METADATA_DEPTH:
        raise InvalidMetadata(f"metadata is nested {depth:,} levels deep; the limit is {MAX_METADATA_DEPTH}")
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidMetadata("metadata must be a JSON object, e.g. {\"team\": \"finance\"}") from None
    if not isinstance(value, dict):
        raise InvalidMetadata("metadata must be a JSON object, e.g. {\"team\": \"finance\"}")
    return value


def nesting_depth(raw: str) -> int:
    """How deeply the JSON text `raw` nests objects and arrays, counted without parsing it."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", _STRING.sub("", raw)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _key_count(value) -> int:
    count, pending = 0, [value]
    while pending:  # a loop, not recursion: the depth is bounded, but this needs no stack at all
        item = pending.pop()
        if isinstance(item, dict):
            count += len(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count
