"""The warm runner as a real forked server on a private state folder: `seamline run`
reaches it, gets its child's exit code and output, and falls back in-process whenever the
runner refuses (stale code, another Prefect environment) or is absent.

Runner and clients run a private copy of the code, so a test can change that code on disk
without touching the checkout (or a runner serving it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from seamline.config.project import PROJECT_ROOT
from seamline.orchestration.warm_client import PACKAGES, code_fingerprint, ping, socket_path

SEAMLINE = Path(sys.executable).with_name("seamline")

# Starts or stops the runner the way `seamline stack up/down` does, from the private copy.
SERVICE = """
import sys
from seamline.config.settings import Settings
from seamline.stack.warm_runner_service import WarmRunnerService
getattr(WarmRunnerService(Settings()), sys.argv[1])()
"""


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("code").resolve()
    for package in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return root


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("warm")


@pytest.fixture(scope="module")
def env(code: Path, state: Path) -> dict[str, str]:
    # No Prefect server behind these ports: `run --help` and usage errors need none.
    return dict(
        os.environ, PYTHONPATH=str(code), SEAMLINE_STATE_DIR=str(state), SEAMLINE_PREFECT_PORT="1"
    )


def _service(env: dict[str, str], code: Path, action: str) -> None:
    subprocess.run(
        [sys.executable, "-c", SERVICE, action], env=env, cwd=code, timeout=120, check=True
    )


@pytest.fixture(scope="module")
def runner(code: Path, state: Path, env: dict[str, str]) -> Iterator[None]:
    _service(env, code, "up")
    yield
    _service(env, code, "down")


def _identity(state: Path) -> dict[str, Any] | None:
    path = socket_path(state)
    assert path is not None
    return ping(path)


def _log(state: Path) -> str:
    return (state / "logs" / "warm-runner.log").read_text()


def _seamline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SEAMLINE), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _started_runs(state: Path) -> int:
    return _log(state).count("started as pid")


def _serves(code: Path, state: Path) -> bool:
    """The runner answers, and with the fingerprint of the code on disk now."""
    identity = _identity(state)
    return identity is not None and identity.get("fingerprint") == code_fingerprint(code)


def test_run_goes_to_the_runner_and_keeps_output_and_exit_code(
    runner: None, code: Path, state: Path, env: dict[str, str]
) -> None:
    assert _serves(code, state), _log(state)
    before = _started_runs(state)
    result = _seamline(env, "run", "--help")
    assert result.returncode == 0, result.stderr
    assert "--event" in result.stdout  # the child wrote to the client's own stdout
    assert _started_runs(state) == before + 1

    bad = _seamline(env, "run", "--event", "tag-push")
    assert bad.returncode == 2
    assert "invalid choice: 'tag-push'" in bad.stderr
    assert _started_runs(state) == before + 2


def test_switched_off_the_command_runs_in_process(
    runner: None, state: Path, env: dict[str, str]
) -> None:
    before = _started_runs(state)
    result = _seamline({**env, "SEAMLINE_WARM_RUNNER": "false"}, "run", "--help")
    assert result.returncode == 0 and "--event" in result.stdout
    assert _started_runs(state) == before


def test_another_prefect_environment_is_refused(
    runner: None, state: Path, env: dict[str, str]
) -> None:
    before = _started_runs(state)
    result = _seamline({**env, "PREFECT_LOGGING_LEVEL_EXTRA": "x"}, "run", "--help")
    assert result.returncode == 0 and "--event" in result.stdout
    assert _started_runs(state) == before
    assert "PREFECT_* environment differs" in _log(state)


def test_changed_code_is_refused_and_the_runner_reloads_in_place(
    runner: None, code: Path, state: Path, env: dict[str, str]
) -> None:
    identity = _identity(state)
    assert identity is not None
    module = code / "tasks" / "__init__.py"  # in the private copy
    module.write_text(module.read_text() + "# changed\n")
    assert not _serves(code, state)
    before = _started_runs(state)
    result = _seamline(env, "run", "--help")
    assert result.returncode == 0 and "--event" in result.stdout
    assert _started_runs(state) == before  # ran in-process
    assert "is not the code on disk" in _log(state)
    _wait_for(lambda: _serves(code, state))
    reloaded = _identity(state)
    assert reloaded is not None and reloaded["pid"] == identity["pid"]  # exec'd in place
    assert _seamline(env, "run", "--help").returncode == 0
    assert _started_runs(state) == before + 1


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")
