"""The local OCI registry (CNCF distribution, Debian's docker-registry) on 127.0.0.1:5000."""

from __future__ import annotations

import shutil

from seamline.adapters.registry import RegistryClient
from seamline.config.settings import Settings
from seamline.errors import ToolMissing
from seamline.stack.daemon import Daemon, port_open
from seamline.stack.model import ComponentStatus

CONFIG = """\
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
"""


class RegistryService:
    name = "registry"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._dir = settings.state_dir / "registry"
        self._client = RegistryClient.for_url(settings.registry_url)
        self._daemon = Daemon(
            name=self.name,
            argv=[self._binary_name(), "serve", str(self._dir / "config.yml")],
            state_dir=settings.state_dir,
            endpoint=settings.registry,
            occupied=lambda: port_open(settings.registry_host, settings.registry_port),
            healthy=self._client.ping,
            fix_port_hint=f"free port {settings.registry_port} or set SEAMLINE_REGISTRY_PORT",
        )

    @staticmethod
    def _binary_name() -> str:
        return shutil.which("docker-registry") or shutil.which("registry") or "docker-registry"

    def status(self) -> ComponentStatus:
        if self._client.ping():
            owner = "ours" if self._daemon.running() else "external"
            return ComponentStatus(self.name, True, f"{self._settings.registry_url} ({owner})")
        return ComponentStatus(
            self.name,
            False,
            f"{self._settings.registry_url} does not answer /v2/",
            "run `seamline stack up`",
        )

    def up(self) -> None:
        if self._client.ping():
            return
        if shutil.which("docker-registry") is None and shutil.which("registry") is None:
            raise ToolMissing(
                "docker-registry not found on PATH",
                hint="run `make setup` (as root it installs Debian's docker-registry)",
            )
        (self._dir / "data").mkdir(parents=True, exist_ok=True)
        (self._dir / "config.yml").write_text(
            CONFIG.format(root=self._dir / "data", addr=self._settings.registry)
        )
        self._daemon.start()

    def down(self) -> None:
        self._daemon.stop()
