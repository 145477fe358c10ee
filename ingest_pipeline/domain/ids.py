"""Deterministic identifiers and content hashes: documents, chunks and normalised text."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
DOCUMENT_ID_PREFIX = "d"
DOCUMENT_ID_HEX_CHARS = 20


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def normalised_text(text: str) -> str:
    """The form of text that hashes compare: NFKC, whitespace folded, trimmed."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def text_hash(text: str) -> str:
    """Hash of the normalised text, so cosmetic whitespace changes never cost a new embedding."""
    return sha256_hex(normalised_text(text).encode("utf-8"))


def document_id(identity: str) -> str:
    """A short, partition-key-safe id from a document's identity (an external id or its sha256).

    Only lowercase hex after a letter: no slashes, commas or dots that break Dagster partition keys.
    """
    digest = sha256_hex(identity.encode("utf-8"))
    return DOCUMENT_ID_PREFIX + digest[:DOCUMENT_ID_HEX_CHARS]


_DOCUMENT_ID = re.compile(rf"^{DOCUMENT_ID_PREFIX}[0-9a-f]{{{DOCUMENT_ID_HEX_CHARS}}}$")


def is_document_id(value: str) -> bool:
    return bool(_DOCUMENT_ID.match(value))


def chunk_id(document: str, ordinal: int, chunk_text_hash: str) -> str:
    """Same document, position and text give the same id on every run: rewrites are idempotent."""
    return sha256_hex(f"{document}:{ordinal}:{chunk_text_hash}".encode("utf-8"))[:32]
