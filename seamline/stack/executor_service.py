"""The executors: processes that execute the runs of seamline's Prefect deployments
(``deployments.executor``), ``settings.executors`` of them on one work pool."""

from __future__ import annotations

import os
import sys

from seamline.config.settings import Settings
from seamline.errors import SeamlineError
from seamline.orchestration.api_access import api_client, prefect_environment
from seamline.orchestration.executors import (
    ExecutorIdentity,
    code_fingerprint,
    executor_identities,
    settings_fingerprint,
)
from seamline.orchestration.rest import PrefectRest
from seamline.stack.daemon import Daemon
from seamline.stack.model import ComponentStatus


class ExecutorService:
    name = "executors"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._settings_fingerprint = settings_fingerprint(settings)
        names = [f"executor-{i}" for i in range(1, settings.executors + 1)]
        self._daemons = [
            Daemon(
                name=name,
                argv=[sys.executable, "-m", "deployments.executor", name],
                state_dir=settings.state_dir,
                endpoint=f"the Prefect variable seamline-executor-{name}",
                occupied=lambda: False,
                healthy=lambda name=name: self._serves(name),  # type: ignore[misc]
                start_timeout_s=max(60.0, settings.service_timeout_s),
            )
            for name in names
        ]

    def _identities(self) -> dict[str, ExecutorIdentity]:
        try:
            with api_client(self._settings, timeout=5) as client:
                return executor_identities(PrefectRest(client))
        except SeamlineError:
            return {}

    def _serves(self, name: str) -> bool:
        identity = self._identities().get(name)
        return identity is not None and identity.serves(
            code_fingerprint(), self._settings_fingerprint
        )

    def status(self) -> ComponentStatus:
        if not self._daemons:
            return ComponentStatus(self.name, True, "none (SEAMLINE_EXECUTORS=0): runs in-process")
        identities = self._identities()
        code, settings = code_fingerprint(), self._settings_fingerprint
        up = [
            f"{d.name} pid {d.pid()}"
            for d in self._daemons
            if d.running() and d.name in identities and identities[d.name].serves(code, settings)
        ]
        if len(up) == len(self._daemons):
            return ComponentStatus(self.name, True, f"{', '.join(up)} on work pool seamline")
        return ComponentStatus(
            self.name,
            False,
            f"{len(up)} of {len(self._daemons)} executors run the code on disk: "
            "`seamline run` executes in-process",
            "run `seamline stack up`",
        )

    def up(self) -> None:
        # Built now, not earlier: the Prefect server's auth string exists once it is up.
        env = {**os.environ, **prefect_environment(self._settings)}
        for daemon in self._daemons:
            daemon.env = env
            if daemon.running() and not daemon.healthy():
                daemon.stop()  # serving older code or other settings: replace it
            daemon.start()

    def down(self) -> None:
        for daemon in self._daemons:
            daemon.stop()
