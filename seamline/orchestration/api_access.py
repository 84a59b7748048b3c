"""The environment of every process that talks to the local Prefect server.

The server requires an API auth string (basic auth; Prefect's ``PREFECT_SERVER_API_AUTH_STRING``),
generated 0600 by ``seamline stack up``; seamline's own processes get it as
``PREFECT_API_AUTH_STRING``. Code under test never gets it (nor any network to use it on).
"""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path

import httpx
from pydantic import SecretStr

from seamline.adapters.tls import tls_context
from seamline.config.settings import Settings
from seamline.orchestration.secret_files import read_private, write_private

AUTH_USER = "seamline"


def auth_file(settings: Settings) -> Path:
    return settings.state_dir / "secrets" / "prefect-api-auth"


def prefect_api_auth(settings: Settings) -> SecretStr | None:
    """The API auth string: the setting, else the stack's generated file, else None."""
    if settings.prefect_api_auth is not None:
        return settings.prefect_api_auth
    value = read_private(auth_file(settings))
    return SecretStr(value) if value is not None else None


def ensure_api_auth(settings: Settings) -> SecretStr:
    """The auth string, generated (0600, folder 0700) when there is none yet."""
    existing = prefect_api_auth(settings)
    if existing is not None:
        return existing
    value = f"{AUTH_USER}:{secrets.token_urlsafe(32)}"
    write_private(auth_file(settings), value)
    return SecretStr(value)


def undelivered_logs(settings: Settings) -> Path:
    """Where logs wait that the Prefect API could not take when they were written."""
    return settings.state_dir / "prefect" / "undelivered-logs"


def api_client(settings: Settings, *, timeout: float = 30) -> httpx.Client:
    """An HTTP client for the local Prefect server's API, with its auth string."""
    auth = prefect_api_auth(settings)
    headers = {}
    if auth is not None:
        token = base64.b64encode(auth.get_secret_value().encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return httpx.Client(
        base_url=settings.prefect_api_url,
        headers=headers,
        timeout=timeout,
        transport=BusyRetries(httpx.HTTPTransport(verify=tls_context())),
    )


class BusyRetries(httpx.BaseTransport):
    """Retries a request the server answered 503: Prefect's server says so when its
    SQLite database was busy with another writer, and rolled the request back (so a retry
    never does the work twice). Prefect's own client does the same."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        delays_s: tuple[float, ...] = (0.1, 0.2, 0.4, 0.8, 1.6, 2.0),
    ) -> None:
        self._inner = inner
        self.delays_s = delays_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for delay in self.delays_s:
            response = self._inner.handle_request(request)
            if response.status_code != 503:
                return response
            response.read()
            response.close()
            time.sleep(delay)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def prefect_environment(settings: Settings) -> dict[str, str]:
    """Environment for any process that talks to the local Prefect server (its clients)."""
    home = settings.state_dir / "prefect"
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        # Logs reach the API (and `seamline run`'s stderr) within half a second.
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
        "DO_NOT_TRACK": "1",  # offline: no client analytics
    }
    # The database URL (with its password) goes to the server alone (PrefectService).
    auth = prefect_api_auth(settings)
    if auth is not None:
        env["PREFECT_API_AUTH_STRING"] = auth.get_secret_value()
    return env
