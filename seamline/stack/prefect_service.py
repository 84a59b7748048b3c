"""The local Prefect server that keeps run history, logs and artifacts (in SQLite, or in
PostgreSQL: seamline.orchestration.prefect_database)."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from seamline.adapters.tls import tls_context
from seamline.config.settings import Settings
from seamline.errors import StateCorrupt
from seamline.orchestration.api_access import (
    api_client,
    ensure_api_auth,
    prefect_environment,
    undelivered_logs,
)
from seamline.orchestration.log_delivery import deliver_spooled_logs
from seamline.orchestration.prefect_database import database_url
from seamline.stack.daemon import Daemon, port_open
from seamline.stack.model import ComponentStatus


class PrefectService:
    name = "prefect-server"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        env = prefect_environment(settings)
        env.pop("PREFECT_API_URL")
        env.pop("PREFECT_API_AUTH_STRING", None)
        env["PREFECT_UI_API_URL"] = settings.prefect_api_url
        # On SQLite, a write transaction of the server's own while a run writes makes the
        # server refuse the run's request (503, which Prefect retries only after 2 s). By
        # default the server records each task-run event in a transaction of its own, for
        # seconds after a run; batched, it writes a run's task runs in a few short ones.
        env["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL"] = "0.5"
        env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"] = "100"
        self._daemon = Daemon(
            name=self.name,
            argv=[
                str(Path(sys.executable).with_name("prefect")),
                "server",
                "start",
                "--host",
                settings.prefect_host,
                "--port",
                str(settings.prefect_port),
            ],
            state_dir=settings.state_dir,
            endpoint=f"{settings.prefect_host}:{settings.prefect_port}",
            occupied=lambda: port_open(settings.prefect_host, settings.prefect_port),
            healthy=self._healthy,
            env=env,
            start_timeout_s=max(120.0, settings.service_timeout_s),
            fix_port_hint=f"free port {settings.prefect_port} or set SEAMLINE_PREFECT_PORT",
            niceness=settings.prefect_server_niceness,
        )

    def _get(self, path: str) -> httpx.Response | None:
        """An unauthenticated GET on the API; None when nothing answers."""
        try:
            return httpx.get(
                f"{self._settings.prefect_api_url}{path}", timeout=2.0, verify=tls_context()
            )
        except httpx.HTTPError:
            return None

    def _healthy(self) -> bool:
        response = self._get("/health")
        return response is not None and response.status_code == 200 and response.json() is True

    def _requires_auth(self) -> bool:
        """The API refuses a request that carries no auth string."""
        response = self._get("/admin/version")
        return response is not None and response.status_code == 401

    def status(self) -> ComponentStatus:
        if self._healthy() and not self._requires_auth():
            return ComponentStatus(
                self.name,
                False,
                f"{self._settings.prefect_ui_url} answers API calls without an auth string",
                "run `seamline stack up` (it restarts the server with API auth)",
            )
        if self._healthy():
            return ComponentStatus(self.name, True, self._settings.prefect_ui_url)
        return ComponentStatus(
            self.name,
            False,
            f"{self._settings.prefect_api_url}/health does not answer",
            "run `seamline stack up`",
        )

    def up(self) -> None:
        (self._settings.state_dir / "prefect").mkdir(parents=True, exist_ok=True)
        auth = ensure_api_auth(self._settings)
        database = database_url(self._settings)
        if database is None:
            raise StateCorrupt(
                "the local PostgreSQL has no password in the state folder",
                hint="run `seamline stack up` (its postgres step generates one)",
            )
        self._daemon.env = {
            **self._daemon.env,
            "PREFECT_SERVER_API_AUTH_STRING": auth.get_secret_value(),
            "PREFECT_API_DATABASE_CONNECTION_URL": database.get_secret_value(),
        }
        if self._daemon.running() and self._healthy() and not self._requires_auth():
            self._daemon.stop()  # started before API auth: restart it with auth
        self._daemon.start()
        deliver_spooled_logs(
            undelivered_logs(self._settings), lambda: api_client(self._settings, timeout=5)
        )

    def down(self) -> None:
        self._daemon.stop()
