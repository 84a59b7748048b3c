"""A second stack whose Prefect server keeps its state in the stack's own PostgreSQL.

It has its own state folder and ports (Prefect on 4310, PostgreSQL on 5434, no executors)
and shares the session stack's Docker Engine and registry, which its components find
healthy and reuse. The state folder is not pytest's tmp_path: PostgreSQL runs as an
unprivileged user, who must be able to enter every folder above its data.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from seamline.config.settings import Settings
from seamline.orchestration.api_access import api_client
from seamline.orchestration.prefect_database import database_url
from tests.integration.conftest import seamline

PREFECT_PORT = 4310
POSTGRES_PORT = 5434
WEBHOOK_PORT = 8775


@pytest.fixture
def state_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="seamline-pg-stack-"))
    folder.chmod(0o711)
    yield folder / "state"
    shutil.rmtree(folder, ignore_errors=True)


def _flow_runs_in_postgres(url: str, flow_run_id: str) -> tuple[int, int]:
    """(flow runs in the table, rows with this id), read straight from PostgreSQL."""

    async def query() -> tuple[int, int]:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            total = await connection.fetchval("select count(*) from flow_run")
            this = await connection.fetchval(
                "select count(*) from flow_run where id = $1::uuid", flow_run_id
            )
            return int(total), int(this)
        finally:
            await connection.close()

    return asyncio.run(query())


def test_ci_flow_runs_on_a_prefect_server_backed_by_postgres(
    stack_up: dict[str, Any], state_dir: Path
) -> None:
    env = dict(
        os.environ,
        SEAMLINE_STATE_DIR=str(state_dir),
        SEAMLINE_PREFECT_PORT=str(PREFECT_PORT),
        SEAMLINE_PREFECT_DATABASE="postgres",
        SEAMLINE_POSTGRES_PORT=str(POSTGRES_PORT),
        SEAMLINE_EXECUTORS="0",
        SEAMLINE_WEBHOOK_PORT=str(WEBHOOK_PORT),
    )
    env.pop("SEAMLINE_PREFECT_DATABASE_URL", None)
    settings = Settings(
        state_dir=state_dir,
        prefect_port=PREFECT_PORT,
        prefect_database="postgres",
        postgres_port=POSTGRES_PORT,
        executors=0,
        webhook_port=WEBHOOK_PORT,
    )
    try:
        up = seamline("stack", "up", "--json", env=env)
        assert up.returncode == 0, up.stderr
        components = {c["name"]: c for c in json.loads(up.stdout)["components"]}
        assert components["postgres"]["healthy"], components["postgres"]
        assert components["postgres"]["detail"] == f"127.0.0.1:{POSTGRES_PORT}"

        result = seamline("run", "--local", "--json", "--event", "pull_request", env=env)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["state"] == "Completed" and report["commit"] is None
        flow_run_id = report["flow_run_id"]

        with api_client(settings) as api:
            response = api.get(f"/flow_runs/{flow_run_id}")
        assert response.status_code == 200, response.text
        assert response.json()["state"]["type"] == "COMPLETED"

        url = database_url(settings)
        assert url is not None
        total, this = _flow_runs_in_postgres(url.get_secret_value(), flow_run_id)
        assert total >= 1 and this == 1
        assert not (state_dir / "prefect" / "prefect.db").exists()
        password = (state_dir / "secrets" / "postgres-password").read_text().strip()
        assert password not in result.stdout + result.stderr
    finally:
        down = seamline("stack", "down", env=env)
        assert down.returncode == 0, down.stderr
