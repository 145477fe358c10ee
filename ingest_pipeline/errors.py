"""The two kinds of failure every stage raises: the document's fault, or a passing fault elsewhere."""


class DocumentRejected(Exception):
    """The document itself cannot go on (bad bytes, unsupported type, empty text): never retried.

    `reason` is written for the person who uploaded the file, not for a developer. `restart_stage`
    names an earlier stage when a re-drive must start there (a failed parse job is submitted again).
    """

    def __init__(self, reason: str, restart_stage: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.restart_stage = restart_stage

    def __reduce__(self):
        # Crosses from a stage's worker process intact (pickle would pass only `args`, losing restart_stage).
        return type(self), (self.reason, self.restart_stage)


class TransientFailure(Exception):
    """A fault outside the document (a provider timing out, a 5xx): worth retrying later."""


class ServiceUnavailable(TransientFailure):
    """A provider kept failing a request through its retries (5xx, 429, timeouts): it counts
    towards that provider's circuit."""


class ProviderPaused(TransientFailure):
    """A provider failed so often that its circuit is open: work for it waits instead of retrying."""

    def __init__(self, provider: str, reason: str):
        super().__init__(reason)
        self.provider = provider
        self.reason = reason

    def __reduce__(self):
        return type(self), (self.provider, self.reason)
