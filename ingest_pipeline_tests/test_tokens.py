"""The tokenizer is cl100k_base, works offline, and cuts text only into whole characters within limits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest_pipeline.domain import tokens

_PROJECT_ROOT = Path(__file__).resolve().parents[1]
_SAMPLES = [
    "",
    "hello world",
    "Ünïcödé façade, naïve café.",
    "日本語のテキストと中文文本",
    "emoji 😀👍🏽 and flags 🇫🇷 with ZWJ 👩‍👩‍👧",
    "a" * 5000,
    "<|endoftext|> is only text in a document",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", [15339, 1917]),
        ("tiktoken is great!", [83, 1609, 5963, 374, 2294, 0]),  # OpenAI cookbook's cl100k_base example
        ("", []),
    ],
)
def test_encodes_like_cl100k_base(text, expected):
    assert tokens.encode(text) == expected
    assert tokens.count_tokens(text) == len(expected)


@pytest.mark.parametrize("text", _SAMPLES)
def test_decode_inverts_encode(text):
    assert tokens.decode(tokens.encode(text)) == text


def test_special_token_markers_are_plain_text():
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_loads_without_network_or_cache(tmp_path):
    """A fresh interpreter with sockets disabled and an empty tiktoken cache still counts tokens."""
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network access attempted")

        socket.socket.connect = socket.socket.connect_ex = refuse
        socket.create_connection = socket.getaddrinfo = refuse
        from ingest_pipeline.domain import tokens
        print(tokens.count_tokens("hello world"))
        """
    )
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache), "PYTHONPATH": str(_PROJECT_ROOT)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


@pytest.mark.parametrize("text", _SAMPLES)
@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
def test_prefix_and_suffix_are_whole_characters_within_the_limit(text, limit):
    prefix, prefix_count = tokens.prefix_within(text, limit)
    suffix, suffix_count = tokens.suffix_within(text, limit)
    assert text.startswith(prefix) and text.endswith(suffix)
    assert prefix_count == tokens.count_tokens(prefix) <= limit
    assert suffix_count == tokens.count_tokens(suffix) <= limit
    if tokens.count_tokens(text) <= limit:
        assert prefix == suffix == text


def test_prefix_trim_is_applied_and_recounted():
    prefix, count = tokens.prefix_within("one two three four five", 4, trim=lambda part: part[:3])
    assert (prefix, count) == ("one", 1)


@pytest.mark.parametrize("text", [*_SAMPLES[1:], "word " * 2000, "x7Qz" * 3000, "  leading and trailing  "])
@pytest.mark.parametrize("limit", [4, 9, 100])
def test_split_parts_rejoin_to_the_text_and_fit(text, limit):
    parts = list(tokens.split_within(text, limit))
    assert "".join(spaces + part for spaces, part, _ in parts).strip() == text.strip()
    for spaces, part, count in parts:
        assert part and part == part.strip() and not spaces.strip()
        assert count == tokens.count_tokens(part) <= limit


def test_split_prefers_spaces():
    parts = [part for _, part, _ in tokens.split_within("alpha beta gamma delta " * 200, 10)]
    assert len(parts) > 1
    assert all(word in {"alpha", "beta", "gamma", "delta"} for part in parts for word in part.split(" "))
