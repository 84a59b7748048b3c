"""The warm runner as a real forked server on a private state folder: `seamline run`
reaches it, gets its child's exit code and output, and falls back in-process whenever the
runner refuses (stale code, another Prefect environment) or is absent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.stack.warm_runner_service import WarmRunnerService

SEAMLINE = Path(sys.executable).with_name("seamline")


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("warm")


@pytest.fixture(scope="module")
def env(state: Path) -> dict[str, str]:
    # No Prefect server behind these ports: `run --help` and usage errors need none.
    return dict(os.environ, SEAMLINE_STATE_DIR=str(state), SEAMLINE_PREFECT_PORT="1")


@pytest.fixture(scope="module")
def runner(state: Path, env: dict[str, str]) -> Iterator[WarmRunnerService]:
    old = dict(os.environ)
    os.environ.update(env)
    try:
        service = WarmRunnerService(Settings())
        service.up()
        yield service
        service.down()
    finally:
        os.environ.clear()
        os.environ.update(old)


def _log(state: Path) -> str:
    return (state / "logs" / "warm-runner.log").read_text()


def _seamline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SEAMLINE), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _started_runs(state: Path) -> int:
    return _log(state).count("started as pid")


def test_run_goes_to_the_runner_and_keeps_output_and_exit_code(
    runner: WarmRunnerService, state: Path, env: dict[str, str]
) -> None:
    assert runner.status().healthy, runner.status()
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
    runner: WarmRunnerService, state: Path, env: dict[str, str]
) -> None:
    before = _started_runs(state)
    result = _seamline({**env, "SEAMLINE_WARM_RUNNER": "false"}, "run", "--help")
    assert result.returncode == 0 and "--event" in result.stdout
    assert _started_runs(state) == before


def test_another_prefect_environment_is_refused(
    runner: WarmRunnerService, state: Path, env: dict[str, str]
) -> None:
    before = _started_runs(state)
    result = _seamline({**env, "PREFECT_LOGGING_LEVEL_EXTRA": "x"}, "run", "--help")
    assert result.returncode == 0 and "--event" in result.stdout
    assert _started_runs(state) == before
    assert "PREFECT_* environment differs" in _log(state)


def test_changed_code_is_refused_and_the_runner_reloads_in_place(
    runner: WarmRunnerService, state: Path, env: dict[str, str]
) -> None:
    pid = runner.status().detail.split(",")[0]
    module = PROJECT_ROOT / "tasks" / "__init__.py"
    stat = module.stat()
    try:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        before = _started_runs(state)
        result = _seamline(env, "run", "--help")
        assert result.returncode == 0 and "--event" in result.stdout
        assert _started_runs(state) == before  # ran in-process
        assert "is not the code on disk" in _log(state)
        _wait_for(lambda: runner.status().healthy)
        assert runner.status().detail.split(",")[0] == pid  # exec'd in place
        assert _seamline(env, "run", "--help").returncode == 0
        assert _started_runs(state) == before + 1
    finally:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    _seamline(env, "run", "--help")  # refused once more: reloads the restored code
    _wait_for(lambda: runner.status().healthy)


def _wait_for(condition: object, timeout: float = 60.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")
