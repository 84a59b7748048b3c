"""The seam through which the receiver starts runs; the receiver is given one."""

from __future__ import annotations

from typing import Protocol

from seamline.webhook.decide import RunRequest


class RunStarter(Protocol):
    def start(self, request: RunRequest) -> str:
        """Start the run ``request`` asks for and return its flow run id; raise when it
        cannot be started (the delivery then answers 503 and may be redelivered)."""
        ...
