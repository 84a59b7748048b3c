"""The environment of every process that talks to the local Prefect server."""

from __future__ import annotations

from seamline.settings import Settings


def prefect_environment(settings: Settings) -> dict[str, str]:
    """Environment for any process that talks to the local Prefect server."""
    home = settings.state_dir / "prefect"
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "DO_NOT_TRACK": "1",  # offline: no client analytics
    }
