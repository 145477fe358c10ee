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


class TransientFailure(Exception):
    """A fault outside the document (a provider timing out, a 5xx): worth retrying later."""
