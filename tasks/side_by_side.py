"""Several tool calls of one task at once, each in a thread with the task's context."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def side_by_side(*calls: Callable[[], Any], name: str = "stage") -> list[Any]:
    """Run every call to its end and return their results in order; if any raised, raise
    the first one's error once all have finished (nothing is left running behind)."""
    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix=name) as pool:
        # each thread gets its own copy of the task's context (its run logger, timings)
        futures = [pool.submit(contextvars.copy_context().run, call) for call in calls]
        errors = [f.exception() for f in futures]
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return [f.result() for f in futures]
