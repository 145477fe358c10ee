"""Which chunks a search may return, checked when made and written as SQL conditions on chunks and documents."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping, Sequence

_LISTS = ("document_ids", "external_ids", "versions", "media_types")


@dataclass(frozen=True)
class Filters:
    """Chunks of these documents, external ids, current versions, media types, external ids starting with a
    prefix, documents whose metadata contains `metadata` (jsonb @>), registered in [ingested_after,
    ingested_before). Empty means no restriction; naive times are taken as UTC."""

    document_ids: Sequence[str] = ()
    external_ids: Sequence[str] = ()
    versions: Sequence[int] = ()
    metadata: Mapping | None = field(default=None)
    external_id_prefix: str | None = None
    media_types: Sequence[str] = ()
    ingested_after: datetime | None = None
    ingested_before: datetime | None = None

    def __post_init__(self):
        if self.metadata is not None:
            _metadata_json(self.metadata)
        for name in _LISTS:
            if isinstance(getattr(self, name), (str, bytes)):
                raise ValueError(f"filter {name} must be a list, not one string")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in self.versions):
            raise ValueError(f"filter versions must be whole numbers: {list(self.versions)!r}")
        if self.external_id_prefix is not None and (not isinstance(self.external_id_prefix, str)
                                                    or not self.external_id_prefix):
            raise ValueError(f"an external id prefix must be a non-empty string, not {self.external_id_prefix!r}")
        words = (*self.document_ids, *self.external_ids, *self.media_types, self.external_id_prefix or "")
        if any(not isinstance(word, str) or "\x00" in word for word in words):
            raise ValueError("filter ids, prefixes and media types must be strings without NUL characters")
        for name in ("ingested_after", "ingested_before"):
            object.__setattr__(self, name, _aware(name, getattr(self, name)))
        if self.ingested_after and self.ingested_before and self.ingested_after >= self.ingested_before:
            raise ValueError(f"ingested_after ({self.ingested_after.isoformat()}) must be earlier than "
                             f"ingested_before ({self.ingested_before.isoformat()})")

    def __bool__(self) -> bool:
        return any((*(getattr(self, name) for name in _LISTS), self.metadata is not None, self.external_id_prefix,
                    self.ingested_after, self.ingested_before))

    def where(self) -> tuple[str, dict]:
        """SQL conditions (each after AND) on chunks `c` and documents `d`, and their parameters."""
        clauses, params = [], {}
        for column, name in (("c.document_id", "document_ids"), ("d.external_id", "external_ids"),
                             ("d.version", "versions"), ("d.media_type", "media_types")):
            if getattr(self, name):
                clauses.append(f"{column} = ANY(:{name})")
                params[name] = list(getattr(self, name))
        if self.metadata is not None:
            clauses.append("d.metadata @> CAST(:metadata AS jsonb)")
            params["metadata"] = _metadata_json(self.metadata)
        if self.external_id_prefix:  # starts_with, not LIKE: a prefix's own % and _ are plain characters
            clauses.append("starts_with(d.external_id, :external_id_prefix)")
            params["external_id_prefix"] = self.external_id_prefix
        for name, operator in (("ingested_after", ">="), ("ingested_before", "<")):
            if getattr(self, name):
                clauses.append(f"d.created_at {operator} :{name}")
                params[name] = getattr(self, name)
        return "".join(f" AND {clause}" for clause in clauses), params


def _aware(name: str, value) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValueError(f"filter {name} must be a date and time, not {value!r}")
    try:
        # In UTC: Postgres refuses offsets beyond ±15:59, which an ISO time may carry (+16:00).
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"filter {name} is out of range: {value.isoformat()}") from None


def _metadata_json(value) -> str:
    """The metadata filter as JSON text jsonb reads, else ValueError (jsonb refuses NaN and NUL characters)."""
    if not isinstance(value, Mapping):
        raise ValueError(f"a metadata filter must be a JSON object, not {type(value).__name__}")
    try:
        encoded = json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"a metadata filter must be plain JSON: {error}") from None
    if "\\u0000" in encoded:
        raise ValueError("a metadata filter cannot hold a NUL character (jsonb refuses it)")
    return encoded
