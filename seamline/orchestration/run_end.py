"""Tells a waiting `seamline run` that its flow run has ended, so it reads the outcome at
once instead of at its next poll of the run's state.

The command listens on a datagram socket named after the run in the state folder; the
executor's child sends to it once its engine has set the run's final state, and the
executor again when it reaps the child (a run that crashed or was cancelled). A datagram
only wakes the command: it then reads the run's state from the API, as on any poll, so a
lost or forged one costs nothing but a poll.
"""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from seamline.config.settings import Settings
from seamline.orchestration.datagrams import bind_wake, sleep_until_woken


def end_socket(settings: Settings, run_id: str) -> Path:
    """Where the command waiting for ``run_id`` listens (the id is a UUID: never a path)."""
    return settings.state_dir / "run" / f"{uuid.UUID(run_id).hex}.end"


def announce_end(settings: Settings, run_id: str) -> None:
    """Wake the command waiting for ``run_id``, if one is."""
    try:
        path = end_socket(settings, run_id)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(b"ended", str(path))
    except (OSError, ValueError):
        pass  # nobody listening: the command polls


class RunEndListener:
    """The command's side: ``wait`` sleeps until the timeout or an announcement. Where the
    socket cannot be bound (a state folder path too long for a socket name), it only
    sleeps."""

    def __init__(self, settings: Settings, run_id: str) -> None:
        self._path = end_socket(settings, run_id)
        self._sock: socket.socket | None = None

    def __enter__(self) -> RunEndListener:
        try:
            self._sock = bind_wake(self._path)
        except OSError:
            self._sock = None
        return self

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True when woken by an announcement."""
        if self._sock is None:
            time.sleep(timeout)
            return False
        return sleep_until_woken(self._sock, timeout)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._sock is not None:
            self._sock.close()
            self._path.unlink(missing_ok=True)


def announce_hook(flow: object, flow_run: Any, state: object) -> None:
    """A flow's completion and failure hook: Prefect's engine calls it as soon as it has
    set the run's final state, before the engine's own teardown (its last log and event
    deliveries), which the waiting command need not wait for."""
    announce_end(Settings(), str(flow_run.id))


END_HOOKS: dict[str, Any] = {"on_completion": [announce_hook], "on_failure": [announce_hook]}
