"""Task-run names that say stage and service (``scan[orders]``), so the run graph and the
task list in the UI read without clicking."""

from __future__ import annotations

from collections.abc import Callable


def per_service(stage: str) -> Callable[[], str]:
    """The name of a per-service task run, from its ``service`` argument (every per-service
    task takes one: its other arguments may still be futures when the run is named)."""

    def name() -> str:
        from prefect.runtime import task_run

        service = task_run.parameters.get("service")
        return f"{stage}[{service}]" if isinstance(service, str) else stage

    return name
