"""How many heavy tool calls of one kind a process runs at once.

Prefect starts every mapped task at once: a run of 32 services started 32 image builds and
32 sandboxes on two cores, and everything (scans included) slowed to a crawl. Each kind
of heavy work gets twice as many slots as the machine has cores; the Bookstore's four
services never wait for one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_slots: dict[str, threading.BoundedSemaphore] = {}
_guard = threading.Lock()


def slots_per_kind() -> int:
    return 2 * (os.cpu_count() or 2)


@contextmanager
def heavy(kind: str) -> Iterator[None]:
    with _guard:
        semaphore = _slots.setdefault(kind, threading.BoundedSemaphore(slots_per_kind()))
    with semaphore:
        yield
