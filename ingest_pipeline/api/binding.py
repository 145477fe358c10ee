"""Where the ingest API listens: its default address, and the refusal to expose it unauthenticated or weakly guarded."""

from __future__ import annotations

import ipaddress

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# A token is all that guards uploads and deletes: one this long cannot be guessed (`openssl rand -hex 32` gives 64).
MIN_TOKEN_CHARS = 32


class UnsafeBinding(ValueError):
    pass


def check_binding(host: str, api_token: str | None) -> None:
    """Without a token anyone who can reach the port may upload and delete: only loopback is allowed.
    A token must be long enough not to be guessed."""
    if api_token and len(api_token) < MIN_TOKEN_CHARS:
        raise UnsafeBinding(
            f"refusing to serve the ingest API: INGEST_API_TOKEN has {len(api_token)} characters, fewer than the "
            f"{MIN_TOKEN_CHARS} needed so that it cannot be guessed. Generate one with `openssl rand -hex 32`."
        )
    if not api_token and not is_loopback(host):
        raise UnsafeBinding(
            f"refusing to serve the ingest API on {host} without an API token: anyone who can reach it could "
            f"upload and delete documents. Set INGEST_API_TOKEN, or bind to {DEFAULT_HOST}."
        )


def is_loopback(host: str) -> bool:
    """Only literal loopback addresses and `localhost`; other names could resolve anywhere."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
