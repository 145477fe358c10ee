"""Feature-hashing vectors: deterministic, offline and lexical (shared words), not semantic."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter

# Vector length unless INGEST_EMBEDDING_DIMENSIONS says otherwise.
HASHING_DEFAULT_DIMENSIONS = 512
_WORD = re.compile(r"\w+", re.UNICODE)


def hashed_vector(text: str, dimensions: int) -> list[float]:
    """A unit vector where each word and word pair adds a signed weight at a hashed position.

    Texts sharing words point the same way, so search finds the passage a query quotes; texts
    that say the same thing in other words do not. Empty text gives a zero-free fixed vector,
    since pgvector's cosine distance is undefined for the zero vector.
    """
    words = [w.lower() for w in _WORD.findall(text)]
    features = Counter(words) + Counter(f"{a} {b}" for a, b in zip(words, words[1:]))
    vector = [0.0] * dimensions
    for feature, count in features.items():
        digest = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")
        sign = 1.0 if digest & 1 else -1.0
        vector[(digest >> 1) % dimensions] += sign * (1.0 + math.log(count))
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:
        return [1.0 / math.sqrt(dimensions)] * dimensions
    return [x / norm for x in vector]
