"""Deterministic identifiers and content hashes: documents, chunks and normalised text."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

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


# The identities the pipeline gives documents itself, by where their bytes came from. A caller's
# external id may not begin with one, so it can never name (and replace) another document's bytes.
CONTENT_PREFIX, INBOX_PREFIX, FILE_PREFIX = "sha256:", "inbox:", "file:"
RESERVED_PREFIXES = (CONTENT_PREFIX, INBOX_PREFIX, FILE_PREFIX)


class ReservedIdentity(ValueError):
    """A caller's external id that would fall in one of the pipeline's own identity spaces."""


@dataclass(frozen=True)
class Identity:
    """What makes two uploads the same document; built only through the constructors below, one
    per identity space, so that the spaces cannot overlap."""

    value: str

    @classmethod
    def of_caller(cls, external_id: str) -> Identity:
        if external_id.casefold().startswith(RESERVED_PREFIXES):
            raise ReservedIdentity(
                f"external_id may not begin with {', '.join(RESERVED_PREFIXES)}: those name files the "
                "pipeline identifies itself (by content, inbox path or local path)")
        return cls(external_id)

    @classmethod
    def of_content(cls, sha256: str) -> Identity:
        return cls(CONTENT_PREFIX + sha256)

    @classmethod
    def of_inbox_path(cls, path: str) -> Identity:
        return cls(INBOX_PREFIX + path)

    @classmethod
    def of_local_path(cls, path: str) -> Identity:
        return cls(FILE_PREFIX + path)


def document_id(identity: Identity) -> str:
    """A short, partition-key-safe id from a document's identity.

    Only lowercase hex after a letter: no slashes, commas or dots that break Dagster partition keys.
    """
    digest = sha256_hex(identity.value.encode("utf-8"))
    return DOCUMENT_ID_PREFIX + digest[:DOCUMENT_ID_HEX_CHARS]


_DOCUMENT_ID = re.compile(rf"^{DOCUMENT_ID_PREFIX}[0-9a-f]{{{DOCUMENT_ID_HEX_CHARS}}}$")


def is_document_id(value: str) -> bool:
    return bool(_DOCUMENT_ID.match(value))


# A partition key: a slug of the document's first name, "~", then the start of its id's hex, lengthened
# only when another document already holds the shorter key. Lowercase letters, digits, "-" and "~":
# nothing Dagster refuses in a key (",", "[", "]", "|", "...") nor anything a URL must escape.
PARTITION_KEY_SEPARATOR = "~"
PARTITION_KEY_ID_CHARS = (8, 12, DOCUMENT_ID_HEX_CHARS)
SLUG_MAX_CHARS = 40
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(file_name: str) -> str:
    """`Red Lentil Soup.md` -> `red-lentil-soup-md`: ASCII letters and digits, runs of others as one "-"."""
    ascii_name = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_name.lower())[:SLUG_MAX_CHARS].strip("-") or "document"


def partition_key_candidates(file_name: str, document: str) -> list[str]:
    """The partition keys a new document may take, shortest first; the last, with the whole id, is
    unique because the id is. Derived from the first name and the id, so a new version keeps its key."""
    hex_part = document[len(DOCUMENT_ID_PREFIX):]
    return [f"{slug(file_name)}{PARTITION_KEY_SEPARATOR}{hex_part[:n]}" for n in PARTITION_KEY_ID_CHARS]


def chunk_id(document: str, ordinal: int, chunk_text_hash: str) -> str:
    """Same document, position and text give the same id on every run: rewrites are idempotent."""
    return sha256_hex(f"{document}:{ordinal}:{chunk_text_hash}".encode("utf-8"))[:32]
