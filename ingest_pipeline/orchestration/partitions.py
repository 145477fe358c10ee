"""Which documents a run covers: ranges of partition keys, and the tags that name them (no Dagster import)."""

from __future__ import annotations

from typing import Sequence

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
