"""Which documents a run covers: the one mapping between documents and partition keys, ranges of keys,
and the tags that name them (no Dagster import)."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Engine

from ingest_pipeline.store import documents

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# Documents between two targets cost only a status lookup, so close targets share one run.
MAX_RANGE_GAP = 200


def partition_ranges(ordered_keys: Sequence[str], targets: Sequence[str], max_gap: int = MAX_RANGE_GAP) -> list[tuple[str, str]]:
    """Few (start, end) ranges, in partition order, that cover every target key.

    Dagster selects a multi-partition run by range, in the order keys were added; keys between
    targets are covered too, which is cheap because every stage skips up-to-date documents.
    """
    position = {key: index for index, key in enumerate(ordered_keys)}
    indices = sorted(position[key] for key in set(targets))
    ranges: list[list[int]] = []
    for index in indices:
        if ranges and index - ranges[-1][1] <= max_gap:
            ranges[-1][1] = index
        else:
            ranges.append([index, index])
    return [(ordered_keys[start], ordered_keys[end]) for start, end in ranges]


def document_ids(engine: Engine, keys: Sequence[str]) -> list[str]:
    """The document of each partition key, in the order given. A key no document holds (its document was
    deleted) stays as it is: the stages then report it as no such document."""
    with engine.connect() as conn:
        found = documents.by_partition_keys(conn, keys)
    return [found.get(key, key) for key in keys]


def partition_keys(engine: Engine, ids: Sequence[str]) -> list[str]:
    """The partition key of each document, in the order given; unknown documents are refused by name."""
    with engine.connect() as conn:
        found = documents.partition_keys(conn, ids)
    missing = [document_id for document_id in ids if document_id not in found]
    if missing:
        raise LookupError(f"no such document(s), so no partition: {', '.join(missing[:5])}")
    return [found[document_id] for document_id in ids]
