"""What every stack component reports and promises."""

from __future__ import annotations

from typing import Protocol

from seamline.adapters.roles import ComponentStatus

__all__ = ["Component", "ComponentStatus"]


class Component(Protocol):
    name: str

    def status(self) -> ComponentStatus:
        """Look, change nothing."""

    def up(self) -> None:
        """Make the component healthy; a no-op when it already is."""

    def down(self) -> None:
        """Stop what the component runs; keep its data."""
