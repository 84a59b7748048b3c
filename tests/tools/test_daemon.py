"""Daemon supervision against a real process and a real listening socket."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seamline.errors import PortInUse, ServiceUnavailable, StateCorrupt
from seamline.stack.daemon import Daemon, port_open


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def squatter() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def _http_ok(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _daemon(tmp_path: Path, port: int, argv: list[str] | None = None) -> Daemon:
    return Daemon(
        name="web",
        argv=argv or [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        state_dir=tmp_path,
        endpoint=f"127.0.0.1:{port}",
        occupied=lambda: port_open("127.0.0.1", port),
        healthy=lambda: _http_ok(port),
        start_timeout_s=20,
    )


def test_start_is_idempotent_and_stop_ends_the_process(tmp_path: Path, free_port: int) -> None:
    daemon = _daemon(tmp_path, free_port)
    daemon.start()
    pid = daemon.pid()
    assert pid is not None and _http_ok(free_port)
    daemon.start()
    assert daemon.pid() == pid
    assert daemon.stop() is True
    assert not port_open("127.0.0.1", free_port)
    assert not daemon.pid_file.exists()
    assert daemon.stop() is False


def test_port_taken_by_another_process(tmp_path: Path, squatter: int) -> None:
    with pytest.raises(PortInUse) as caught:
        _daemon(tmp_path, squatter).start()
    assert str(squatter) in caught.value.message
    assert caught.value.exit_code == 3
    assert not (tmp_path / "pids" / "web.pid").exists()


def test_process_that_dies_at_start(tmp_path: Path, free_port: int) -> None:
    argv = [sys.executable, "-c", "import sys; print('cannot start: bad config'); sys.exit(2)"]
    with pytest.raises(ServiceUnavailable) as caught:
        _daemon(tmp_path, free_port, argv).start()
    assert "cannot start: bad config" in caught.value.hint


def test_garbage_pid_file(tmp_path: Path, free_port: int) -> None:
    daemon = _daemon(tmp_path, free_port)
    daemon.pid_file.parent.mkdir(parents=True)
    daemon.pid_file.write_text("not-a-pid")
    with pytest.raises(StateCorrupt, match="not a process id"):
        daemon.start()
