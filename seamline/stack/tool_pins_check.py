"""The pinned toolchain as a stack component: healthy when every tool matches its pin."""

from __future__ import annotations

from seamline.config.settings import Settings
from seamline.stack.model import ComponentStatus
from seamline.tools.pins import INSTALL_HINT, ToolReport, probe, read_pins


class ToolchainCheck:
    name = "toolchain"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def reports(self) -> list[ToolReport]:
        pins = read_pins(self._settings.toolchain_file)
        cache = self._settings.state_dir / "cache" / "tool-versions.json"
        return [probe(pin, self._settings.tools_dir, cache) for pin in pins]

    def status(self) -> ComponentStatus:
        bad = [r for r in self.reports() if not r.ok]
        if bad:
            detail = ", ".join(f"{r.name} {r.found or 'missing'} (pin {r.pinned})" for r in bad)
            return ComponentStatus(self.name, False, detail, INSTALL_HINT)
        return ComponentStatus(self.name, True, "all tools at their pinned versions")

    def up(self) -> None:
        """Tools are installed by scripts/install-tools.sh; `up` only reports."""

    def down(self) -> None:
        """Nothing runs."""
