"""The Docker Engine: use a reachable daemon, else (Linux, root) start Debian's dockerd."""

from __future__ import annotations

import os
import shutil

from seamline.adapters.docker_engine import DockerEngine
from seamline.config.settings import Settings
from seamline.errors import ToolMissing
from seamline.stack.daemon import Daemon
from seamline.stack.model import ComponentStatus

SOCKET_PREFIX = "unix://"


class DockerService:
    name = "docker"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        host = settings.docker_host
        self._daemon = Daemon(
            name="dockerd",
            argv=[
                shutil.which("dockerd") or "dockerd",
                "--host",
                host,
                "--data-root",
                str(settings.state_dir / "docker"),
                "--iptables=false",
                "--ip-masq=false",
                "--ip-forward=false",
                "--bridge=none",
            ],
            state_dir=settings.state_dir,
            endpoint=host,
            occupied=lambda: (
                host.startswith(SOCKET_PREFIX)
                and os.path.exists(host.removeprefix(SOCKET_PREFIX))
                and DockerEngine.reachable(host)
            ),
            healthy=lambda: DockerEngine.reachable(host),
            start_timeout_s=60.0,
        )

    def status(self) -> ComponentStatus:
        host = self._settings.docker_host
        if DockerEngine.reachable(host):
            owner = "started by seamline" if self._daemon.running() else "external"
            return ComponentStatus(self.name, True, f"{host} ({owner})")
        return ComponentStatus(
            self.name, False, f"no Docker Engine answers at {host}", "run `seamline stack up`"
        )

    def up(self) -> None:
        if DockerEngine.reachable(self._settings.docker_host):
            return
        if not self._settings.manage_dockerd:
            raise ToolMissing(
                f"no Docker Engine answers at {self._settings.docker_host}",
                hint="start Docker, or set SEAMLINE_MANAGE_DOCKERD=true to let seamline start it",
            )
        if shutil.which("dockerd") is None or os.geteuid() != 0:
            raise ToolMissing(
                "no Docker Engine is reachable and seamline cannot start one "
                "(needs dockerd on PATH and root)",
                hint="run `make setup` as root (installs Debian's docker.io), or start Docker "
                "yourself and set SEAMLINE_DOCKER_HOST",
            )
        self._daemon.start()

    def down(self) -> None:
        self._daemon.stop(timeout_s=30.0)
