"""The warm runner: a process that keeps Prefect and the flows imported for `seamline run`."""

from __future__ import annotations

import os
import sys

from seamline.config.settings import Settings
from seamline.orchestration.api_access import prefect_environment
from seamline.orchestration.warm_client import code_fingerprint, ping, socket_path
from seamline.stack.daemon import Daemon
from seamline.stack.model import ComponentStatus


class WarmRunnerService:
    name = "warm-runner"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._socket = socket_path(settings.state_dir)
        self._daemon = Daemon(
            name=self.name,
            argv=[sys.executable, "-m", "deployments.warm_server"],
            state_dir=settings.state_dir,
            endpoint=str(self._socket),
            occupied=lambda: self._socket is not None and ping(self._socket) is not None,
            healthy=self._healthy,
            env={},
            start_timeout_s=max(60.0, settings.service_timeout_s),
            fix_port_hint=f"stop the process serving {self._socket}",
        )

    def _healthy(self) -> bool:
        if self._socket is None:
            return False
        identity = ping(self._socket)
        return identity is not None and identity.get("fingerprint") == code_fingerprint()

    def status(self) -> ComponentStatus:
        if not self._settings.warm_runner:
            return ComponentStatus(self.name, True, "off (SEAMLINE_WARM_RUNNER=false)")
        if self._socket is None:
            return ComponentStatus(
                self.name,
                True,
                f"off: {self._settings.state_dir} is too long a path for a Unix socket",
            )
        if self._daemon.running() and self._healthy():
            return ComponentStatus(self.name, True, f"pid {self._daemon.pid()}, {self._socket}")
        return ComponentStatus(
            self.name,
            False,
            "not running, or not running the code on disk: `seamline run` imports Prefect itself",
            "run `seamline stack up`",
        )

    def up(self) -> None:
        if not self._settings.warm_runner or self._socket is None:
            return
        # Built now, not earlier: the Prefect server's auth string exists once it is up.
        self._daemon.env = {**os.environ, **prefect_environment(self._settings)}
        if self._daemon.running() and not self._healthy():
            self._daemon.stop()  # serving older code: replace it
        self._daemon.start()

    def down(self) -> None:
        self._daemon.stop()
