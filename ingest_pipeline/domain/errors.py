"""What a stage raises when a document does not simply go through: its own fault, a passing fault elsewhere,
or nothing to do."""


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


class UpToDate(Exception):
    """Raised by a stage when the document's stored result already matches its inputs."""


class Waiting(Exception):
    """Raised by a stage when the document waits on work outside the run (a parse job)."""


class Superseded(Exception):
    """Raised by a stage when the document changed (a new version, a delete) while it worked."""
