"""The run-end datagram: it wakes the command waiting for its run, and nothing else."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployments import remote_run
from seamline.config.settings import Settings
from seamline.orchestration.rest import FlowRunView
from seamline.orchestration.run_end import RunEndListener, announce_end, end_socket


def _settings(state: Path) -> Settings:
    return Settings(state_dir=state)


@pytest.fixture
def short_path() -> Iterator[Path]:
    """A state folder whose socket names fit (pytest's own folders are long)."""
    folder = Path(tempfile.mkdtemp(prefix="sl-end-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_an_announcement_ends_the_wait_at_once(short_path: Path) -> None:
    settings = _settings(short_path)
    run_id = str(uuid.uuid4())
    with RunEndListener(settings, run_id) as listener:
        threading.Timer(0.1, announce_end, (settings, run_id)).start()
        started = time.monotonic()
        assert listener.wait(10.0)
        assert time.monotonic() - started < 5.0
        assert not listener.wait(0.05)  # drained: the next wait times out
    assert not end_socket(settings, run_id).exists()


def test_another_runs_announcement_does_not_wake_it(short_path: Path) -> None:
    settings = _settings(short_path)
    with RunEndListener(settings, str(uuid.uuid4())) as listener:
        announce_end(settings, str(uuid.uuid4()))
        assert not listener.wait(0.2)


def test_announcing_with_nobody_listening_or_a_bad_id_is_harmless(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    announce_end(settings, str(uuid.uuid4()))
    announce_end(settings, "../../etc/passwd")
    assert not (tmp_path / "run").exists()


def test_a_state_folder_too_deep_for_a_socket_name_falls_back_to_sleeping(
    tmp_path: Path,
) -> None:
    deep = tmp_path / ("d" * 100)
    with RunEndListener(_settings(deep), str(uuid.uuid4())) as listener:
        started = time.monotonic()
        assert not listener.wait(0.1)
        assert time.monotonic() - started >= 0.1


class _EndsWhenAnnounced:
    """The API's view of a run that ends when its executor announces it."""

    def __init__(self) -> None:
        self.ended = threading.Event()

    def logs(self, run_id: str, offset: int, limit: int = 200) -> list[dict[str, Any]]:
        closing = {"message": "Finished in state Completed()", "task_run_id": None}
        return [closing] if self.ended.is_set() and offset == 0 else []

    def flow_run(self, run_id: str) -> FlowRunView:
        state = "COMPLETED" if self.ended.is_set() else "RUNNING"
        return FlowRunView(run_id, "push-main", state, "", {}, None, ())

    def artifact(self, run_id: str, key: str) -> None:
        return None


def test_the_command_reads_the_end_when_announced_not_at_its_next_poll(
    short_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote_run, "POLL_S", 30.0)
    monkeypatch.setattr(remote_run, "SLOW_POLL_S", 30.0)
    settings, run_id, api = _settings(short_path), str(uuid.uuid4()), _EndsWhenAnnounced()

    def executor_ends_the_run() -> None:
        api.ended.set()
        announce_end(settings, run_id)

    with RunEndListener(settings, run_id) as listener:
        threading.Timer(0.2, executor_ends_the_run).start()
        started = time.monotonic()
        run, _ = remote_run._follow(
            api,  # type: ignore[arg-type]
            run_id,
            remote_run.LogPrinter(write=lambda _: None),
            listener.wait,
        )
    assert run.ended and time.monotonic() - started < 10.0
