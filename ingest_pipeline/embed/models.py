"""Facts about OpenAI's embedding models and API limits, defined once for the embedder, chunker and batcher."""

from __future__ import annotations

from dataclasses import dataclass

MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000
MAX_TOKENS_PER_INPUT = 8192
# Rate limits assumed until the first response says the account's own (x-ratelimit-limit-*): the lowest
# paid tier's for embedding models, so work starts at once and an account of that tier sees no 429 storm.
PROVISIONAL_REQUESTS_PER_MINUTE = 3_000
PROVISIONAL_TOKENS_PER_MINUTE = 1_000_000


@dataclass(frozen=True)
class OpenAIModel:
    name: str
    default_dimensions: int
    accepts_dimensions: bool
    usd_per_million_tokens: float


DEFAULT_OPENAI_MODEL = "text-embedding-3-small"
OPENAI_MODELS = {
    model.name: model
    for model in (
        OpenAIModel(DEFAULT_OPENAI_MODEL, 1536, True, 0.02),
        OpenAIModel("text-embedding-3-large", 3072, True, 0.13),
        OpenAIModel("text-embedding-ada-002", 1536, False, 0.10),
    )
}


def openai_model(name: str) -> OpenAIModel:
    try:
        return OPENAI_MODELS[name]
    except KeyError:
        raise ValueError(f"unknown OpenAI embedding model {name!r}; known: {', '.join(OPENAI_MODELS)}") from None
