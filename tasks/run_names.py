"""Task-run names that say stage and service (``scan[orders]``), so the run graph and the
task list in the UI read without clicking."""

from __future__ import annotations

from collections.abc import Callable


def per_service(stage: str) -> Callable[[], str]:
    """The name of a per-service task run: the ``service`` argument, or the service of the
    first argument that carries one (a built or pushed image, a signature)."""

    def name() -> str:
        from prefect.runtime import task_run

        parameters = task_run.parameters
        service = parameters.get("service")
        if not isinstance(service, str):
            service = next(
                (
                    value.service
                    for value in parameters.values()
                    if isinstance(getattr(value, "service", None), str)
                ),
                None,
            )
        return f"{stage}[{service}]" if service else stage

    return name
