"""`seamline stack` on the real machine: idempotent up, status, and clear failures."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from seamline.adapters.git_repo import head_of
from seamline.config.settings import Settings
from seamline.stack.gitops_remote import GitopsRemote
from tests.integration.conftest import seamline

COMPONENTS = {
    "toolchain",
    "docker",
    "registry",
    "postgres",
    "prefect-server",
    "signing-key",
    "gitops-remote",
    "base-images",
    "trivy-db",
    "executors",
    "webhook",
    "buildkitd",
    "goproxy",
}


def test_up_twice_is_idempotent(stack_up: dict[str, Any], settings: Settings) -> None:
    assert {c["name"] for c in stack_up["components"]} == COMPONENTS
    pids = {p.name: p.read_text() for p in (settings.state_dir / "pids").glob("*.pid")}
    again = seamline("stack", "up", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["healthy"]
    assert {p.name: p.read_text() for p in (settings.state_dir / "pids").glob("*.pid")} == pids


def test_status_json_reports_every_component(stack_up: dict[str, Any]) -> None:
    result = seamline("stack", "status", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["healthy"] is True
    assert all(c["healthy"] and c["detail"] for c in payload["components"])


def test_signing_password_is_private_and_never_printed(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    secret_file = settings.state_dir / "secrets" / "cosign.password"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    password = secret_file.read_text().strip()
    result = seamline("-v", "stack", "up", "--json")
    logs = "".join(p.read_text(errors="replace") for p in (settings.state_dir / "logs").glob("*"))
    assert password not in result.stdout + result.stderr + logs


def test_port_taken_is_a_clear_environment_error(stack_up: dict[str, Any], tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env = _env(tmp_path, SEAMLINE_REGISTRY_PORT=str(port))
        result = seamline("stack", "up", env=env)
    assert result.returncode == 3
    assert f"127.0.0.1:{port} is already taken" in result.stderr
    assert "fix:" in result.stderr


def test_missing_tool_names_the_fix(stack_up: dict[str, Any], tmp_path: Path) -> None:
    empty = tmp_path / "tools"
    empty.mkdir()
    env = _env(tmp_path, SEAMLINE_TOOLS_DIR=str(empty), PATH="/usr/bin:/bin")
    result = seamline("doctor", env=env)
    assert result.returncode == 3
    assert "trivy" in result.stderr and "missing" in result.stderr
    assert "fix: run `make setup`" in result.stderr


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["SEAMLINE_STATE_DIR"] = str(tmp_path / "state")
    env.update(extra)
    return env


@pytest.mark.restarts_stack
def test_down_keeps_data_and_up_restores(stack_up: dict[str, Any], settings: Settings) -> None:
    remote = GitopsRemote(settings)
    head = head_of(remote.path, "main")
    key = (settings.state_dir / "secrets" / "cosign.pub").read_text()

    down = seamline("stack", "down", "--json")
    assert down.returncode == 0, down.stderr
    status = seamline("stack", "status", "--json")
    assert status.returncode == 3
    by_name = {c["name"]: c for c in json.loads(status.stdout)["components"]}
    assert not by_name["registry"]["healthy"]
    assert "stack up" in by_name["registry"]["hint"]
    assert not by_name["prefect-server"]["healthy"]

    up = seamline("stack", "up", "--json")
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["healthy"]
    assert head_of(remote.path, "main") == head
    assert (settings.state_dir / "secrets" / "cosign.pub").read_text() == key
    assert "base-images: up (" in up.stderr
