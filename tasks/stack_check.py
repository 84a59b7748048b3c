"""The stack check stage: one component's health, as seen from inside a flow run."""

from __future__ import annotations

from prefect import task

from seamline.adapters.roles import ComponentStatus
from seamline.adapters.toolbox import Toolbox
from seamline.config.settings import Settings


@task(name="check-component", retries=2, retry_delay_seconds=2)
def check_component(settings: Settings, name: str) -> ComponentStatus:
    by_name = {check.name: check for check in Toolbox(settings).health_checks()}
    return by_name[name].status()
