"""Which database the Prefect server gets, the local PostgreSQL's password file, and how the
PostgreSQL component reads a cluster's state."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from deployments.flow_process import known_secrets
from seamline.config.settings import Settings
from seamline.errors import StateCorrupt
from seamline.orchestration.api_access import prefect_environment
from seamline.orchestration.prefect_database import (
    database_url,
    ensure_postgres_password,
    postgres_password_file,
)
from seamline.stack.postgres_service import PostgresService, postmaster_ready, untraversable
from seamline.stack.stack import components

DATA = Path(__file__).parents[1] / "data" / "postgres"
URL = "PREFECT_API_DATABASE_CONNECTION_URL"


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(state_dir=tmp_path / "state", **values)  # type: ignore[arg-type]


def test_sqlite_by_default(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert database_url(settings) == SecretStr(
        f"sqlite+aiosqlite:///{tmp_path / 'state' / 'prefect' / 'prefect.db'}"
    )
    assert URL not in prefect_environment(settings)  # the server's alone
    assert PostgresService(settings).status().detail == "off (SQLite)"
    assert PostgresService(settings).status().healthy


def test_local_postgres_url_carries_the_generated_password(tmp_path: Path) -> None:
    settings = _settings(tmp_path, prefect_database="postgres", postgres_port=5434)
    assert database_url(settings) is None  # no password before `stack up`

    password = ensure_postgres_password(settings).get_secret_value()
    assert len(password) >= 32
    url = database_url(settings)
    assert url is not None and url.get_secret_value() == (
        f"postgresql+asyncpg://prefect:{password}@127.0.0.1:5434/prefect"
    )
    assert password not in str(prefect_environment(settings))  # clients never get it
    assert ensure_postgres_password(settings).get_secret_value() == password  # kept
    assert password in known_secrets(settings)


def test_password_file_is_private(tmp_path: Path) -> None:
    settings = _settings(tmp_path, prefect_database="postgres")
    ensure_postgres_password(settings)
    path = postgres_password_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    path.chmod(0o644)
    with pytest.raises(StateCorrupt, match="readable by others"):
        database_url(settings)


def test_external_url_wins_and_its_password_is_masked(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://prefect:s%3Acret@db.example:5432/prefect"
    settings = _settings(tmp_path, prefect_database="postgres", prefect_database_url=url)
    assert not settings.local_postgres
    found = database_url(settings)
    assert found is not None and found.get_secret_value() == url
    assert not postgres_password_file(settings).exists()
    assert {url, "s:cret"} <= set(settings.secrets())
    assert isinstance(settings.prefect_database_url, SecretStr)
    assert "s%3Acret" not in repr(settings)


def test_postgres_starts_before_the_prefect_server(tmp_path: Path) -> None:
    names = [c.name for c in components(_settings(tmp_path))]
    assert names.index("postgres") == names.index("prefect-server") - 1


def _postmaster_pid(data_dir: Path, pid: int, status: str) -> None:
    lines = (DATA / "postmaster.pid").read_text().splitlines()
    lines[0], lines[7] = str(pid), status
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "postmaster.pid").write_text("\n".join(lines) + "\n")


def test_postmaster_ready_reads_the_recorded_pid_file(tmp_path: Path) -> None:
    assert not postmaster_ready(tmp_path)  # no cluster
    _postmaster_pid(tmp_path, os.getpid(), "ready   ")
    assert postmaster_ready(tmp_path)
    _postmaster_pid(tmp_path, os.getpid(), "starting")
    assert not postmaster_ready(tmp_path)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    _postmaster_pid(tmp_path, int(gone.stdout), "ready   ")
    assert not postmaster_ready(tmp_path)


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every user may enter, as the cluster's own user needs its state folder."""
    folder = Path(tempfile.mkdtemp(prefix="seamline-traverse-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder)


def test_untraversable_names_the_first_closed_folder(open_folder: Path) -> None:
    deep = open_folder / "a" / "b" / "c"
    deep.mkdir(parents=True)
    nobody, no_group = 65534, {65534}
    assert untraversable(deep, nobody, no_group) is None
    (open_folder / "a").chmod(0o700)
    assert untraversable(deep, nobody, no_group) == open_folder / "a"
    assert untraversable(deep, os.getuid(), set()) is None  # its owner may
    (open_folder / "a").chmod(0o710)
    assert untraversable(deep, nobody, {os.getgid()}) is None  # through its group
    assert untraversable(deep, nobody, no_group) == open_folder / "a"
