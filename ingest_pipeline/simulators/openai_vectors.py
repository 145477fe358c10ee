"""Deterministic, lexically meaningful stand-in embeddings and their float / base64 wire encodings."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections import Counter

import numpy as np

_WORD = re.compile(r"\w+")
# Share of the vector given to per-text noise: enough that two different texts never get the very same
# vector (and punctuation-only text still gets one), small enough that shared words dominate similarity.
_NOISE_WEIGHT = 0.25
# Words whose bucket is remembered per (model, dimensions).
_BUCKETS_KEPT = 1 << 17


def embed_text(model: str, dimensions: int, text: str) -> np.ndarray:
    """A unit float32 vector that depends only on (model, dimensions, text); shared words make vectors close.

    Built with array operations, not a loop per word: the simulator's own time is latency the real API
    does not charge to the client, and the benchmarks run with no simulated latency at all.
    """
    vector = _text_noise(model, dimensions, text) * _NOISE_WEIGHT
    counts = Counter(_WORD.findall(text.lower()))
    if counts:
        table = _bucket_table(model, dimensions)
        indices, signs = zip(*(table.get(word) or _word_bucket(table, model, dimensions, word) for word in counts))
        # Sublinear term frequency, as in tf-idf, so one repeated word cannot swamp the rest.
        weights = np.array(signs) * (1.0 + np.log(np.fromiter(counts.values(), float, len(counts))))
        lexical = np.bincount(np.array(indices), weights, minlength=dimensions)
        # Zero when colliding words cancel out; the noise still gives a direction (as for text without words).
        if (norm := np.linalg.norm(lexical)) > 0:
            vector += lexical / norm
    return (vector / np.linalg.norm(vector)).astype("<f4")


def encode_embedding(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    """`float`: a JSON list of the float32 values; `base64`: their little-endian bytes, as OpenAI sends them."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector.astype("<f4").tolist()


@functools.cache
def _bucket_table(model: str, dimensions: int) -> dict[str, tuple[int, float]]:
    """Each word's bucket, once computed; a dict lookup costs a tenth of hashing the word again."""
    return {}


def _word_bucket(table: dict[str, tuple[int, float]], model: str, dimensions: int, word: str) -> tuple[int, float]:
    """Feature hashing: each word lands on one signed coordinate, the same one in every text."""
    if len(table) >= _BUCKETS_KEPT:  # a long-running simulator meets ever more words: start over
        table.clear()
    digest = hashlib.blake2b(f"{model}\0{word}".encode(), digest_size=8).digest()
    number = int.from_bytes(digest, "little")
    table[word] = bucket = ((number >> 1) % dimensions, 1.0 if number & 1 else -1.0)
    return bucket


def _text_noise(model: str, dimensions: int, text: str) -> np.ndarray:
    """A direction drawn from the text's hash: uniform coordinates, which normalised serve as well as normal ones."""
    stream = hashlib.shake_256(f"{model}\0{dimensions}\0{text}".encode()).digest(2 * dimensions)
    noise = np.frombuffer(stream, dtype="<i2").astype(np.float64) + 0.5  # + 0.5: never the zero vector
    return noise / np.linalg.norm(noise)
