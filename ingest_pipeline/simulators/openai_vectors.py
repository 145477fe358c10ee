"""Deterministic, lexically meaningful stand-in embeddings and their float / base64 wire encodings."""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import re
from collections import Counter

import numpy as np

_WORD = re.compile(r"\w+")
# Share of the vector given to per-text noise: enough that two different texts never get the very same
# vector (and punctuation-only text still gets one), small enough that shared words dominate similarity.
_NOISE_WEIGHT = 0.25


def embed_text(model: str, dimensions: int, text: str) -> np.ndarray:
    """A unit float32 vector that depends only on (model, dimensions, text); shared words make vectors close."""
    vector = _text_noise(model, dimensions, text) * _NOISE_WEIGHT
    lexical = np.zeros(dimensions)
    for word, count in Counter(_WORD.findall(text.lower())).items():
        index, sign = _word_bucket(model, dimensions, word)
        # Sublinear term frequency, as in tf-idf, so one repeated word cannot swamp the rest.
        lexical[index] += sign * (1.0 + math.log(count))
    # Zero when there are no words, or when colliding words cancel out; the noise still gives a direction.
    if (norm := np.linalg.norm(lexical)) > 0:
        vector += lexical / norm
    return (vector / np.linalg.norm(vector)).astype("<f4")


def encode_embedding(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    """`float`: a JSON list of the float32 values; `base64`: their little-endian bytes, as OpenAI sends them."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector.astype("<f4").tolist()


@functools.lru_cache(maxsize=1 << 16)
def _word_bucket(model: str, dimensions: int, word: str) -> tuple[int, float]:
    """Feature hashing: each word lands on one signed coordinate, the same one in every text."""
    digest = hashlib.blake2b(f"{model}\0{word}".encode(), digest_size=8).digest()
    number = int.from_bytes(digest, "little")
    return (number >> 1) % dimensions, 1.0 if number & 1 else -1.0


def _text_noise(model: str, dimensions: int, text: str) -> np.ndarray:
    digest = hashlib.sha256(f"{model}\0{dimensions}\0{text}".encode()).digest()
    generator = np.random.default_rng(int.from_bytes(digest[:16], "little"))
    noise = generator.standard_normal(dimensions)
    return noise / np.linalg.norm(noise)
