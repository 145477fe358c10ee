"""How a search ranks chunks: by vector, by keyword, or both fused (the default)."""

from __future__ import annotations

from enum import StrEnum


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"

    @property
    def uses_vectors(self) -> bool:
        return self is not SearchMode.KEYWORD

    @property
    def uses_keywords(self) -> bool:
        return self is not SearchMode.VECTOR
