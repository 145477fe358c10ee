"""What the simulated OpenAI embeddings endpoint accepts: its models, its limits, and its error bodies."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import tiktoken

from ingest_pipeline.domain.tokens import ENCODING_NAME
from ingest_pipeline.embed.models import (
    MAX_INPUTS_PER_REQUEST,
    MAX_TOKENS_PER_INPUT,
    MAX_TOKENS_PER_REQUEST,
    OPENAI_MODELS,
)

# The bundled copy of cl100k_base: tiktoken would otherwise download the BPE file at first use.
# OpenAI's limits and models as `embed.models` records them: the simulator serves the same.
MAX_INPUTS = MAX_INPUTS_PER_REQUEST
MAX_INPUT_TOKENS = MAX_TOKENS_PER_INPUT
MAX_REQUEST_TOKENS = MAX_TOKENS_PER_REQUEST
ENCODING_FORMATS = ("float", "base64")


@dataclass(frozen=True)
class EmbeddingModel:
    name: str
    dimensions: int
    # Only the text-embedding-3 models accept `dimensions` (they can be shortened).
    shortenable: bool


MODELS: dict[str, EmbeddingModel] = {
    model.name: EmbeddingModel(model.name, model.default_dimensions, shortenable=model.accepts_dimensions)
    for model in OPENAI_MODELS.values()
}


class ApiError(Exception):
    """An error answer in OpenAI's shape; `outcome` names it in the simulator's statistics."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        outcome: str = "invalid_request",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.outcome = outcome
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class EmbeddingRequest:
    model: EmbeddingModel
    dimensions: int
    encoding_format: str
    texts: tuple[str, ...]
    token_counts: tuple[int, ...]

    @property
    def total_tokens(self) -> int:
        return sum(self.token_counts)


@functools.cache
def tokenizer() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def parse_embedding_request(body: object) -> EmbeddingRequest:
    """Validate a request body as the real API does; token arrays are decoded so they embed like their text."""
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    model = _model(body.get("model"))
    dimensions = _dimensions(model, body.get("dimensions"))
    encoding_format = body.get("encoding_format", "float")
    if encoding_format not in ENCODING_FORMATS:
        raise ApiError(400, f"Invalid 'encoding_format': expected one of {ENCODING_FORMATS}.", param="encoding_format")
    inputs = _inputs(body.get("input"))
    texts, token_counts = _tokenize(inputs)
    _check_token_limits(token_counts)
    return EmbeddingRequest(model, dimensions, encoding_format, texts, token_counts)


def _model(name: object) -> EmbeddingModel:
    if not isinstance(name, str) or not name:
        raise ApiError(400, "You must provide a model parameter.", param="model")
    if name not in MODELS:
        # The real API answers an unknown model with 404, not 400.
        message = f"The model `{name}` does not exist or you do not have access to it."
        raise ApiError(404, message, param="model", code="model_not_found", outcome="model_not_found")
    return MODELS[name]


def _dimensions(model: EmbeddingModel, requested: object) -> int:
    if requested is None:
        return model.dimensions
    if not model.shortenable:
        raise ApiError(400, "This model does not support specifying dimensions.", param="dimensions")
    if not isinstance(requested, int) or isinstance(requested, bool):
        raise ApiError(400, "Invalid 'dimensions': expected an integer.", param="dimensions", code="invalid_type")
    if requested < 1:
        message = f"Invalid 'dimensions': integer below minimum value. Expected a value >= 1, but got {requested} instead."
        raise ApiError(400, message, param="dimensions", code="integer_below_min_value")
    if requested > model.dimensions:
        message = (
            f"Invalid 'dimensions': integer above maximum value. "
            f"Expected a value <= {model.dimensions}, but got {requested} instead."
        )
        raise ApiError(400, message, param="dimensions", code="integer_above_max_value")
    return requested


def _inputs(raw: object) -> list[str | list[int]]:
    """Normalise the four accepted shapes (str, list[str], list[int], list[list[int]]) to a list of inputs."""
    if isinstance(raw, str) or _is_token_array(raw):
        inputs = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(item, str) or _is_token_array(item) for item in raw):
        inputs = raw
    else:
        raise ApiError(400, "'$.input' is invalid. Expected a string, an array of strings or token arrays.", param="input")
    if len(inputs) > MAX_INPUTS:
        message = f"'$.input' is invalid: {len(inputs)} inputs given, at most {MAX_INPUTS} are allowed per request."
        raise ApiError(400, message, param="input", code="too_many_inputs")
    for index, item in enumerate(inputs):
        if len(item) == 0:
            raise ApiError(400, f"'$.input[{index}]' is invalid: input cannot be empty.", param="input", code="empty_input")
    return inputs


def _is_token_array(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(token, int) and not isinstance(token, bool) for token in value)


def _tokenize(inputs: list[str | list[int]]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    encoding = tokenizer()
    texts, counts = [], []
    for item in inputs:
        if isinstance(item, str):
            texts.append(item)
            counts.append(len(encoding.encode_ordinary(item)))
            continue
        try:
            texts.append(encoding.decode(item))
        except (KeyError, OverflowError) as error:
            raise ApiError(400, f"'$.input' contains an invalid token: {error}.", param="input") from error
        counts.append(len(item))
    return tuple(texts), tuple(counts)


def _check_token_limits(token_counts: tuple[int, ...]) -> None:
    for index, count in enumerate(token_counts):
        if count > MAX_INPUT_TOKENS:
            message = (
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however you requested "
                f"{count} tokens in input[{index}]. Please reduce the length of the input."
            )
            raise ApiError(400, message, param="input", code="context_length_exceeded")
    total = sum(token_counts)
    if total > MAX_REQUEST_TOKENS:
        message = f"Requested {total} tokens, max {MAX_REQUEST_TOKENS} tokens per request"
        raise ApiError(400, message, param="input", code="max_tokens_per_request")
