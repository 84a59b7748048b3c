"""docker/compose.yaml, read and run by a real docker-compose: it validates, publishes on
loopback only, refuses to start without its secrets, and comes up with the Prefect server on
PostgreSQL (auth required), the registry, and an executor that joins the work pool.

The bring-up uses its own project name and ports, never the local stack's; the images are
built by docker/build-images.sh, which keeps them while their recipes are unchanged.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from seamline.adapters.docker_engine import DockerEngine
from seamline.config.project import PROJECT_ROOT
from seamline.config.settings import Settings
from seamline.orchestration.executors import WORK_POOL

COMPOSE_FILE = PROJECT_ROOT / "docker" / "compose.yaml"
BUILD_IMAGES = PROJECT_ROOT / "docker" / "build-images.sh"
ENV_EXAMPLE = PROJECT_ROOT / "docker" / ".env.example"
PROJECT = "seamline-compose-test"
SERVICES = {"postgres", "prefect-server", "registry", "executor", "webhook"}
SECRETS = ("POSTGRES_PASSWORD", "PREFECT_API_AUTH_STRING", "WEBHOOK_SECRET")
LOCAL_STACK_PORTS = {"4200", "5000", "8765"}
PREFECT = "http://127.0.0.1:14200/api"
REGISTRY = "http://127.0.0.1:15000"
WEBHOOK_PORT = 18765


@pytest.fixture(scope="module")
def docker_host(request: pytest.FixtureRequest, settings: Settings) -> str:
    """The Engine the settings name; the stack starts it when nothing answers there."""
    if not DockerEngine.reachable(settings.docker_host):
        request.getfixturevalue("stack_up")
    for tool in ("docker-compose", "debootstrap"):
        assert shutil.which(tool), f"{tool} is missing: run scripts/setup.sh --for-tests"
    return settings.docker_host


def compose(
    docker_host: str, env_file: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """docker-compose on the test's project, with no secret from the caller's environment."""
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env["DOCKER_HOST"] = docker_host
    argv = ["docker-compose", "-f", str(COMPOSE_FILE), "--env-file", str(env_file)]
    return subprocess.run(
        [*argv, "-p", PROJECT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_config_validates_and_publishes_on_loopback_only(docker_host: str) -> None:
    services = compose(docker_host, ENV_EXAMPLE, "config", "--services")
    assert services.returncode == 0, services.stderr
    assert set(services.stdout.split()) == SERVICES

    rendered = compose(docker_host, ENV_EXAMPLE, "config")
    assert rendered.returncode == 0, rendered.stderr
    config: dict[str, Any] = yaml.safe_load(rendered.stdout)
    published = [
        (name, port)
        for name, service in config["services"].items()
        for port in service.get("ports", [])
    ]
    assert {name for name, _ in published} == {"prefect-server", "registry", "webhook"}
    for name, port in published:  # docker-compose 1.29 renders HOST_IP:HOST_PORT:TARGET/PROTO
        host_ip, host_port, _ = str(port).split(":")
        assert host_ip == "127.0.0.1", (name, port)
        assert host_port not in LOCAL_STACK_PORTS, (name, port)
    assert all(s.get("pull_policy") == "never" for s in config["services"].values())


def test_config_refuses_missing_secrets(docker_host: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose(docker_host, empty, "config")
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr or "PREFECT_API_AUTH_STRING" in result.stderr


@pytest.fixture(scope="module")
def images(docker_host: str) -> None:
    result = subprocess.run(
        [str(BUILD_IMAGES)],
        capture_output=True,
        text=True,
        timeout=3600,
        env={**os.environ, "DOCKER_HOST": docker_host},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / "compose.env"
    path.write_text(
        f"POSTGRES_PASSWORD={secrets.token_urlsafe(16)}\n"
        f"PREFECT_API_AUTH_STRING=seamline:{secrets.token_urlsafe(16)}\n"
        f"WEBHOOK_SECRET={secrets.token_urlsafe(16)}\n"
    )
    return path


@pytest.fixture
def running(docker_host: str, images: None, env_file: Path) -> Iterator[Path]:
    try:
        up = compose(docker_host, env_file, "up", "-d", timeout=600)
        assert up.returncode == 0, up.stderr[-4000:]
        yield env_file
    finally:
        logs = compose(docker_host, env_file, "logs", "--no-color", "--tail", "40")
        print(logs.stdout[-8000:])
        down = compose(docker_host, env_file, "down", "-v", "--remove-orphans", timeout=300)
        assert down.returncode == 0, down.stderr


def eventually(probe: Callable[[], Any], *, within_s: float = 180) -> Any:
    """The first truthy result of ``probe``, polled until the deadline."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            result = probe()
        except httpx.HTTPError:
            result = None
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


def test_stack_comes_up(running: Path) -> None:
    auth_string = next(
        line.partition("=")[2]
        for line in running.read_text().splitlines()
        if line.startswith("PREFECT_API_AUTH_STRING=")
    )
    user, _, password = auth_string.partition(":")
    with httpx.Client(auth=(user, password), timeout=5) as api:
        health = eventually(lambda: api.get(f"{PREFECT}/health").status_code == 200)
        assert health, "the Prefect server never answered /api/health on 127.0.0.1:14200"
        assert api.get(f"{PREFECT}/admin/version").status_code == 200
        assert httpx.get(f"{PREFECT}/admin/version", timeout=5).status_code == 401

        assert eventually(lambda: httpx.get(f"{REGISTRY}/v2/", timeout=5).status_code == 200)

        def executor_joined() -> bool:
            response = api.post(f"{PREFECT}/work_pools/{WORK_POOL}/workers/filter", json={})
            return response.status_code == 200 and any(
                w["name"] == "compose-1" for w in response.json()
            )

        assert eventually(executor_joined), "executor compose-1 never joined the work pool"

    def webhook_answers() -> bool:
        return httpx.get(f"http://127.0.0.1:{WEBHOOK_PORT}/hooks", timeout=5).status_code > 0

    assert eventually(webhook_answers, within_s=60), "the webhook receiver never answered"
