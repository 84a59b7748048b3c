"""Which database the Prefect server keeps its state in, as the URL Prefect reads.

SQLite in the state folder by default. With ``prefect_database = "postgres"`` either the
URL the settings name (an external PostgreSQL) or the stack's own PostgreSQL on 127.0.0.1,
whose password ``seamline stack up`` generates 0600 into the state folder.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

from pydantic import SecretStr

from seamline.config.settings import Settings
from seamline.orchestration.secret_files import read_private, write_private

DATABASE = "prefect"
ROLE = "prefect"


def postgres_password_file(settings: Settings) -> Path:
    return settings.state_dir / "secrets" / "postgres-password"


def postgres_password(settings: Settings) -> SecretStr | None:
    """The local PostgreSQL's password, once ``stack up`` has generated it."""
    value = read_private(postgres_password_file(settings))
    return SecretStr(value) if value is not None else None


def ensure_postgres_password(settings: Settings) -> SecretStr:
    """The local PostgreSQL's password, generated (0600) when there is none yet."""
    existing = postgres_password(settings)
    if existing is not None:
        return existing
    value = secrets.token_urlsafe(32)
    write_private(postgres_password_file(settings), value)
    return SecretStr(value)


def local_postgres_url(password: SecretStr, port: int) -> SecretStr:
    quoted = quote(password.get_secret_value(), safe="")
    return SecretStr(f"postgresql+asyncpg://{ROLE}:{quoted}@127.0.0.1:{port}/{DATABASE}")


def database_url(settings: Settings) -> SecretStr | None:
    """The server's connection URL; None while the local PostgreSQL has no password yet."""
    if settings.prefect_database_url is not None:
        return settings.prefect_database_url
    if settings.prefect_database == "sqlite":
        home = settings.state_dir / "prefect"
        return SecretStr(f"sqlite+aiosqlite:///{home / 'prefect.db'}")
    password = postgres_password(settings)
    return None if password is None else local_postgres_url(password, settings.postgres_port)
