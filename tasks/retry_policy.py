"""Which failures a task may retry: transient faults only, never a gate."""

from __future__ import annotations

from typing import Any

from seamline.errors import SeamlineError


def transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry network, registry 5xx and push races only."""
    error = state.data
    return isinstance(error, SeamlineError) and error.transient
