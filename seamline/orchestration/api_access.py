"""The environment of every process that talks to the local Prefect server.

The server requires an API auth string (basic auth; Prefect's ``PREFECT_SERVER_API_AUTH_STRING``),
generated 0600 by ``seamline stack up``; seamline's own processes get it as
``PREFECT_API_AUTH_STRING``. Code under test never gets it (nor any network to use it on).
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
import time
from pathlib import Path

import httpx
from pydantic import SecretStr

from seamline.adapters.tls import tls_context
from seamline.config.settings import Settings
from seamline.errors import StateCorrupt

AUTH_USER = "seamline"


def auth_file(settings: Settings) -> Path:
    return settings.state_dir / "secrets" / "prefect-api-auth"


def prefect_api_auth(settings: Settings) -> SecretStr | None:
    """The API auth string: the setting, else the stack's generated file, else None."""
    if settings.prefect_api_auth is not None:
        return settings.prefect_api_auth
    path = auth_file(settings)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if mode & 0o077:
        raise StateCorrupt(
            f"{path} is readable by others (mode {mode:o})", hint=f"chmod 600 {path}"
        )
    value = path.read_text().strip()
    return SecretStr(value) if value else None


def ensure_api_auth(settings: Settings) -> SecretStr:
    """The auth string, generated (0600, folder 0700) when there is none yet."""
    existing = prefect_api_auth(settings)
    if existing is not None:
        return existing
    path = auth_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    value = f"{AUTH_USER}:{secrets.token_urlsafe(32)}"
    with os.fdopen(fd, "w") as sink:
        sink.write(value)
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
    """Environment for any process that talks to the local Prefect server."""
    home = settings.state_dir / "prefect"
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_LOGGING_LEVEL": "INFO",
        # Logs reach the API (and `seamline run`'s stderr) within half a second.
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
        "DO_NOT_TRACK": "1",  # offline: no client analytics
    }
    auth = prefect_api_auth(settings)
    if auth is not None:
        env["PREFECT_API_AUTH_STRING"] = auth.get_secret_value()
    return env
