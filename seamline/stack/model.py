"""What every stack component reports and promises."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    healthy: bool
    detail: str
    hint: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class Component(Protocol):
    name: str

    def status(self) -> ComponentStatus:
        """Look, change nothing."""

    def up(self) -> None:
        """Make the component healthy; a no-op when it already is."""

    def down(self) -> None:
        """Stop what the component runs; keep its data."""
