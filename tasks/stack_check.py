"""The stack check stage: one component's health, as seen from inside a flow run."""

from __future__ import annotations

from prefect import task

from seamline.config.settings import Settings
from seamline.stack.model import ComponentStatus
from seamline.stack.stack import components


@task(name="check-component", retries=2, retry_delay_seconds=2)
def check_component(settings: Settings, name: str) -> ComponentStatus:
    by_name = {component.name: component for component in components(settings)}
    return by_name[name].status()
