"""How many embedding requests are out at once: as many as the provider answers without queueing them,
within the embedder's cap and a bound on the memory their answers hold."""

from __future__ import annotations

import math
from dataclasses import dataclass

# What the answers of the requests in flight may hold: the client decodes vectors into Python floats
# (~32 bytes each), so this is two full requests (2,048 inputs at 1,536 dimensions, ~200 MB), or as many
# smaller ones as fit. When each goes is up to the rate budget: requests wait there, not here.
VECTOR_FLOATS_IN_FLIGHT = 2 * 2048 * 1536
# Requests out at first: one answered while the next is being computed.
FIRST_LIMIT = 2


@dataclass
class Window:
    """At most `limit` requests out (always one), never more than `most`, and VECTOR_FLOATS_IN_FLIGHT of answers.

    The limit follows the answers, as TCP Vegas follows round trips: each answer scales it by how much
    slower per token it came than the fastest one (the provider with no queue), then allows one more.
    A provider far away (latency, not work) answers as fast with more out, so the limit grows to hide
    its round trips; one that queues requests (a busy server, or one on the same cores) answers slower
    with more out, so the limit stays where it answers fastest.
    """

    most: int
    dimensions: int
    limit: float = FIRST_LIMIT
    fastest: float = math.inf  # seconds per token
    requests: int = 0
    floats: int = 0

    def has_room(self, inputs: int) -> bool:
        if self.requests == 0:
            return True
        return (self.requests < min(self.most, int(self.limit))
                and self.floats + inputs * self.dimensions <= VECTOR_FLOATS_IN_FLIGHT)

    def opened(self, inputs: int) -> None:
        self.requests, self.floats = self.requests + 1, self.floats + inputs * self.dimensions

    def closed(self, inputs: int, tokens: int = 0, seconds: float = 0.0) -> None:
        """A request is back; with its tokens and the seconds the provider took, the limit adapts."""
        self.requests, self.floats = self.requests - 1, self.floats - inputs * self.dimensions
        if tokens > 0 and seconds > 0:
            pace = seconds / tokens
            self.fastest = min(self.fastest, pace)
            self.limit = min(self.most, max(1.0, self.limit * self.fastest / pace + 1))
