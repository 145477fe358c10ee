"""Is the configured parser and embedder usable: for a remote service, one cheap authenticated call with a short timeout."""

from __future__ import annotations

import openai

from ingest_pipeline.domain.providers import EMBEDDERS, HASHING, LLAMAPARSE, LOCAL, OPENAI, PARSERS
from ingest_pipeline.logs.redaction import redact
from ingest_pipeline.parse.llamaparse import DEFAULT_BASE_URL as LLAMA_CLOUD_URL
from ingest_pipeline.settings import Settings

OPENAI_URL = "https://api.openai.com/v1"
# A job id nobody has: "not found" proves the key was accepted without starting (or paying for) a job.
PROBE_JOB_ID = "00000000-0000-0000-0000-000000000000"
# One input of one token: the cheapest call that proves key, model and dimensions together.
PROBE_TEXT = "ping"

Verdict = tuple[bool, str]


def parser_check(settings: Settings, timeout: float) -> Verdict:
    if settings.parser == LOCAL:
        return True, "local parser (offline: nothing to reach)"
    if settings.parser != LLAMAPARSE:
        return False, f"INGEST_PARSER={settings.parser!r} is not a parser ({' or '.join(PARSERS)})"
    if not settings.llama_cloud_api_key:
        return False, "llamaparse: LLAMA_CLOUD_API_KEY is not set"
    if settings.public_url and not settings.webhook_secret:
        return False, "llamaparse: INGEST_PUBLIC_URL is set but INGEST_WEBHOOK_SECRET is empty: every webhook would be refused"
    return _llamaparse_probe(settings, timeout)


def embedder_check(settings: Settings, timeout: float) -> Verdict:
    if settings.embedder == HASHING:
        return True, "hashing embedder (offline: nothing to reach)"
    if settings.embedder != OPENAI:
        return False, f"INGEST_EMBEDDER={settings.embedder!r} is not an embedder ({' or '.join(EMBEDDERS)})"
    if not settings.openai_api_key:
        return False, "openai: OPENAI_API_KEY is not set"
    return _openai_probe(settings, timeout)


def _llamaparse_probe(settings: Settings, timeout: float) -> Verdict:
    import llama_cloud  # here: most commands, and every offline set-up, never need the SDK (0.4 s to import)

    base = settings.llama_cloud_base_url or LLAMA_CLOUD_URL
    client = llama_cloud.LlamaCloud(api_key=settings.llama_cloud_api_key, base_url=base, max_retries=0, timeout=timeout)
    try:
        client.parsing.get(PROBE_JOB_ID)
    except llama_cloud.NotFoundError:
        pass
    except llama_cloud.APIError as error:
        return False, f"llamaparse: {_failure(base, error, llama_cloud)}"
    return True, f"llamaparse at {base}: reachable, key accepted (tier {settings.llamaparse_tier})"


def _openai_probe(settings: Settings, timeout: float) -> Verdict:
    base = settings.openai_base_url or OPENAI_URL
    client = openai.OpenAI(api_key=settings.openai_api_key, base_url=base, max_retries=0, timeout=timeout)
    dimensions = {"dimensions": settings.embedding_dimensions} if settings.embedding_dimensions else {}
    try:
        client.embeddings.create(model=settings.embedding_model, input=[PROBE_TEXT], **dimensions)
    except openai.RateLimitError:
        return True, f"openai at {base}: reachable, key accepted, rate-limited right now (429)"
    except openai.APIError as error:
        return False, f"openai: {_failure(base, error, openai)}"
    return True, f"openai at {base}: reachable, key accepted, model {settings.embedding_model} answers"


def _failure(base: str, error: Exception, sdk) -> str:
    """What went wrong, in words; both SDKs share the exception names."""
    if isinstance(error, sdk.APITimeoutError):
        return f"{base} did not answer in time"
    if isinstance(error, sdk.APIConnectionError):
        return f"cannot reach {base} ({type(error.__cause__ or error).__name__})"
    if isinstance(error, sdk.AuthenticationError):
        return f"{base} refused the API key (401)"
    if isinstance(error, sdk.PermissionDeniedError):
        return f"{base} refused the API key for this call (403)"
    status = getattr(error, "status_code", None)
    # The provider's message says what to fix (an unknown model, a bad dimension); secrets never go out.
    return redact(f"{base} answered {status}: {str(getattr(error, 'message', error))[:200]}")
