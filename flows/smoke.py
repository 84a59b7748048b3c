"""The smoke flow: every stack component checked from a Prefect flow run, with evidence."""

from __future__ import annotations

from prefect import flow, unmapped
from prefect.artifacts import create_table_artifact

from seamline.adapters.roles import ComponentStatus
from seamline.config.settings import Settings
from tasks.stack_check import check_component


@flow(name="seamline-smoke", log_prints=False)
def smoke(settings: Settings, names: list[str]) -> list[ComponentStatus]:
    futures = check_component.map(unmapped(settings), names)
    statuses = [future.result() for future in futures]
    create_table_artifact(
        key="stack-health",
        table=[s.as_dict() for s in statuses],
        description="Local stack health as seen from a flow run",
    )
    return statuses
