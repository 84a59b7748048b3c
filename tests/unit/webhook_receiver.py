"""A real receiver for tests: uvicorn on an ephemeral loopback port, in a thread, with a
fake RunStarter that records what it was asked to start."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from deployments.webhook_relay import server
from seamline.config.settings import Settings
from seamline.webhook.decide import RunRequest


@dataclass
class FakeStarter:
    started: list[RunRequest] = field(default_factory=list)
    failure: Exception | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, request: RunRequest) -> str:
        if self.failure is not None:
            raise self.failure
        with self.lock:
            self.started.append(request)
            return f"flow-run-{len(self.started)}"


@contextmanager
def running(settings: Settings, starter: FakeStarter) -> Iterator[int]:
    """Serve the receiver; yields its port."""
    uvicorn_server = server(settings, starter, port=0)
    # Bound and listening before the server runs: requests queue until it serves them.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)
        sock.close()
