"""The local stack as a whole: bring every component up in order, report, stop, purge."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from seamline.config.settings import Settings
from seamline.errors import ServiceUnavailable, StateCorrupt, ToolMissing
from seamline.stack.base_images import BaseImages
from seamline.stack.buildkit_service import BuildkitService
from seamline.stack.docker_service import DockerService
from seamline.stack.executor_service import ExecutorService
from seamline.stack.gitops_remote import GitopsRemote
from seamline.stack.goproxy_service import GoproxyService
from seamline.stack.model import Component, ComponentStatus
from seamline.stack.postgres_service import PostgresService
from seamline.stack.prefect_service import PrefectService
from seamline.stack.registry_service import RegistryService
from seamline.stack.signing_key import SigningKey
from seamline.stack.tool_pins_check import ToolchainCheck
from seamline.stack.trivy_mirror import TrivyDbMirror
from seamline.stack.webhook_service import WebhookService

log = logging.getLogger("seamline.stack")
STATE_FORMAT = 1


def components(settings: Settings) -> list[Component]:
    """In start order: each may need the ones before it."""
    return [
        ToolchainCheck(settings),
        DockerService(settings),
        RegistryService(settings),
        GoproxyService(settings),
        BuildkitService(settings),
        PostgresService(settings),
        PrefectService(settings),
        SigningKey(settings),
        GitopsRemote(settings),
        BaseImages(settings),
        TrivyDbMirror(settings),
        ExecutorService(settings),
        WebhookService(settings),
    ]


class Stack:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.state_dir = settings.state_dir
        self.components = components(settings)

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    def check_state(self) -> None:
        """Refuse to work on a state folder seamline did not write or cannot read."""
        if self.state_dir.exists() and not self.state_dir.is_dir():
            raise StateCorrupt(
                f"state folder {self.state_dir} is not a folder",
                hint=f"move {self.state_dir} away and run `seamline stack up`",
            )
        if not self.state_file.exists():
            return
        try:
            state = json.loads(self.state_file.read_text())
            ok = isinstance(state, dict) and state.get("format") == STATE_FORMAT
        except (json.JSONDecodeError, UnicodeDecodeError):
            ok = False
        if not ok:
            raise StateCorrupt(
                f"state file {self.state_file} is unreadable or from another seamline version",
                hint="run `seamline stack down --purge` to reset the local stack",
            )

    def up(self, progress: Callable[[str], None]) -> list[ComponentStatus]:
        self.check_state()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.state_file.exists():
            self.state_file.write_text(json.dumps({"format": STATE_FORMAT}) + "\n")
        for component in self.components:
            started = time.monotonic()
            progress(f"{component.name}: starting")
            component.up()
            progress(f"{component.name}: up ({time.monotonic() - started:.1f} s)")
        return self.status()

    def require(self, names: Sequence[str]) -> None:
        """Fail in seconds when one of the named components is not healthy; asks only
        those."""
        self.check_state()
        wanted = [c for c in self.components if c.name in names]
        bad = [s for s in (c.status() for c in wanted) if not s.healthy]
        if bad:
            detail = "; ".join(f"{s.name}: {s.detail}" for s in bad)
            error = ToolMissing if bad[0].name == "toolchain" else ServiceUnavailable
            raise error(f"the local stack is not ready: {detail}", hint=bad[0].hint)

    def status(self) -> list[ComponentStatus]:
        self.check_state()
        return [component.status() for component in self.components]

    def down(self, *, purge: bool, progress: Callable[[str], None]) -> None:
        if not purge:
            self.check_state()
        for component in reversed(self.components):
            try:
                component.down()
            except StateCorrupt:
                if not purge:
                    raise
            progress(f"{component.name}: stopped")
        if purge and self.state_dir.exists():
            shutil.rmtree(self.state_dir)
            progress(f"purged {self.state_dir}")
