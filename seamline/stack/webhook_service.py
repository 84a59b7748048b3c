"""The webhook receiver (``deployments.webhook_relay``): git pushes and pull requests start
runs. ``stack up`` also gives the local GitOps remote a post-receive hook that delivers its
pushes here, signed, so a ``git push`` to it starts a run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from seamline.config.settings import Settings
from seamline.orchestration.api_access import prefect_environment
from seamline.orchestration.executors import code_fingerprint, settings_fingerprint
from seamline.stack.daemon import Daemon, port_open
from seamline.stack.model import ComponentStatus
from seamline.webhook.post_receive import install_hook
from seamline.webhook.secret import ensure_secret


class WebhookService:
    name = "webhook"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        host, port = settings.webhook_host, settings.webhook_port
        self._daemon = Daemon(
            name=self.name,
            argv=[sys.executable, "-m", "deployments.webhook_relay"],
            state_dir=settings.state_dir,
            endpoint=f"{host}:{port}",
            occupied=lambda: port_open(host, port),
            healthy=self._healthy,
            start_timeout_s=max(60.0, settings.service_timeout_s),
            fix_port_hint=f"free port {port} or set SEAMLINE_WEBHOOK_PORT",
        )

    def _health(self) -> dict[str, str] | None:
        url = f"http://{self._settings.webhook_host}:{self._settings.webhook_port}/healthz"
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code != 200:
                return None
            found: dict[str, str] = answer.json()
            return found
        except (httpx.HTTPError, ValueError):
            return None

    def _healthy(self) -> bool:
        return self._health() is not None

    def _current(self) -> bool:
        """Serving the code on disk with these settings (a receiver started before a change
        serves older code, or another secret and branch rules)."""
        health = self._health()
        wanted = f"{code_fingerprint()}/{settings_fingerprint(self._settings)}"
        return health is not None and health.get("code") == wanted

    def status(self) -> ComponentStatus:
        if self._healthy():
            owner = f"pid {self._daemon.pid()}" if self._daemon.running() else "external"
            return ComponentStatus(self.name, True, f"{owner}, {self._settings.webhook_url}")
        return ComponentStatus(
            self.name, False, "the webhook receiver is not running", "run `seamline stack up`"
        )

    def up(self) -> None:
        configured = self._settings.webhook_secret
        if configured is None or not configured.get_secret_value():  # as load_secret reads it
            ensure_secret(self._settings.state_dir)
        remote = self._settings.local_gitops_remote
        if remote.is_dir():
            install_hook(remote, self._settings, python=Path(sys.executable))
        self._daemon.env = {**os.environ, **prefect_environment(self._settings)}
        if self._daemon.running() and not self._current():
            self._daemon.stop()
        self._daemon.start()

    def down(self) -> None:
        self._daemon.stop()
