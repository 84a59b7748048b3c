"""A service process the stack starts, tracked by a pid file in the state folder."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seamline.errors import PortInUse, ServiceUnavailable, StateCorrupt
from seamline.tools.process import spawn_daemon


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


@dataclass
class Daemon:
    """One supervised process: start it, see whether it is ours and healthy, stop it."""

    name: str
    argv: Sequence[str]
    state_dir: Path
    endpoint: str
    occupied: Callable[[], bool]
    healthy: Callable[[], bool]
    env: Mapping[str, str] = field(default_factory=dict)
    start_timeout_s: float = 60.0
    fix_port_hint: str = ""
    niceness: int = 0  # added to the process's nice value: above 0 it yields the cores

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "pids" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        if not self.pid_file.exists():
            return None
        text = self.pid_file.read_text().strip()
        if not text.isdigit():
            raise StateCorrupt(
                f"pid file {self.pid_file} holds {text[:40]!r}, not a process id",
                hint=f"delete {self.pid_file} and run `seamline stack up` again",
            )
        pid = int(text)
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    def start(self) -> None:
        if self.running() and self.healthy():
            return
        if self.occupied() and not self.running():
            if self.healthy():
                return  # someone else already serves a healthy instance: use it
            raise PortInUse(
                f"{self.name}: {self.endpoint} is already taken by another process "
                "that does not answer as this service",
                hint=self.fix_port_hint or f"stop whatever listens on {self.endpoint}",
            )
        pid = spawn_daemon(self.argv, log_file=self.log_file, env=self.env, niceness=self.niceness)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(f"{pid}\n")
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                raise ServiceUnavailable(
                    f"{self.name} exited right after start",
                    hint=f"read {self.log_file}: {self._log_tail()}",
                )
            if self.healthy():
                return
            time.sleep(0.3)
        raise ServiceUnavailable(
            f"{self.name} did not become healthy within {self.start_timeout_s:.0f} s",
            hint=f"read {self.log_file}: {self._log_tail()}",
        )

    def stop(self, timeout_s: float = 20.0) -> bool:
        """Stop the process if it is ours; True when one was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.2)
        if pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
