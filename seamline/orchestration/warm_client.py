"""The warm runner's wire protocol and its client.

Importing Prefect and the flow costs seconds per process. The warm runner (started by
``seamline stack up``) pays that once: it imports everything, then forks one child per
``seamline run``. The client hands the child its own stdin, stdout and stderr (passed over a
Unix socket), its argv, environment and working folder, so the child behaves exactly like
an in-process run. It answers with ``{"pid": N}`` when it starts and ``{"exit": code}`` once
the run's result is printed; the child then finishes uploading logs to Prefect on its own.

The runner refuses (and the client runs in-process instead) when its code is not the code
on disk, or when the run's settings would use another state folder or another Prefect
environment than the one it imported Prefect under. The client side imports nothing heavy
(no pydantic): it finds the socket from ``SEAMLINE_STATE_DIR`` or seamline.toml, and the
runner's child checks that against the full settings before it starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import struct
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from seamline.config.project import DEFAULT_STATE_DIR, PROJECT_ROOT

PACKAGES = ("seamline", "flows", "tasks", "deployments")
MAX_MESSAGE = 1 << 20
# Unix socket paths are limited to 108 bytes (sun_path) on Linux.
MAX_SOCKET_PATH = 100


def socket_path(state_dir: Path) -> Path | None:
    """The runner's socket in the state folder; None when that path is too long for a
    Unix socket. Never a name in a shared folder, where another user could bind it first
    and receive the runs."""
    path = state_dir / "run" / "warm-runner.sock"
    return path if len(str(path)) <= MAX_SOCKET_PATH else None


# Environment variables that hold secrets: a run whose environment has any of them is not
# handed to the runner (it runs in-process), so no secret ever crosses the socket.
SECRET_WORDS = ("PASSWORD", "PASSWD", "TOKEN", "SECRET", "CREDENTIAL", "PRIVATE_KEY", "API_KEY")
SECRET_ENDINGS = ("_AUTH", "_AUTH_STRING", "_JWT", "_PAT", "_KEY")
NOT_SECRETS = ("SSH_AUTH_SOCK", "XAUTHORITY")


def holds_secrets(env: Mapping[str, str]) -> list[str]:
    """Variables whose names say they hold a secret (or a URL with a password in it)."""
    found = []
    for name, value in env.items():
        upper = name.upper()
        if upper in NOT_SECRETS:
            continue
        named = any(w in upper for w in SECRET_WORDS) or upper.endswith(SECRET_ENDINGS)
        if named or ("://" in value and "@" in value.partition("://")[2].partition("/")[0]):
            found.append(name)
    return sorted(found)


def peer_is_us(sock: socket.socket) -> bool:
    """The process at the other end runs as our own user (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return bool(uid == os.getuid())


def _client_setting(name: str) -> Any:
    """A setting as the client sees it, without building the settings class: the variable,
    else the [settings] table of seamline.toml, else None. The runner's child checks the
    outcome against the real settings, so a wrong guess only costs a refusal."""
    value = os.environ.get(f"SEAMLINE_{name.upper()}")
    if value is not None:
        return value
    config = Path(os.environ.get("SEAMLINE_CONFIG", "seamline.toml"))
    if not config.is_file():
        return None
    try:
        table = tomllib.loads(config.read_text()).get("settings", {})
    except (tomllib.TOMLDecodeError, OSError):
        return None
    return table.get(name) if isinstance(table, dict) else None


def client_socket() -> Path | None:
    """Where the client looks for the runner; None when the warm runner is switched off
    or cannot have a socket."""
    warm = _client_setting("warm_runner")
    if warm is not None and str(warm).strip().lower() in ("0", "false", "f", "no", "n", "off"):
        return None
    state_dir = _client_setting("state_dir")
    return socket_path(Path(state_dir) if state_dir else DEFAULT_STATE_DIR)


def code_fingerprint(root: Path = PROJECT_ROOT) -> str:
    """What code a run would execute: every module's path, size and mtime, and Python."""
    digest = hashlib.sha256(f"{sys.prefix}\0{sys.version}\0{root}".encode())
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def prefect_variables(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("PREFECT_")}


def send(sock: socket.socket, message: Mapping[str, Any], fds: Sequence[int] = ()) -> None:
    data = (json.dumps(message) + "\n").encode()
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.sendall(data)


class MessageReader:
    """Newline-framed JSON messages from a stream socket, with any file descriptors that
    arrive alongside them."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""
        self.fds: list[int] = []

    def next(self) -> dict[str, Any] | None:
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_MESSAGE:
                raise ValueError("warm runner message too long")
            data, fds, _flags, _addr = socket.recv_fds(self._sock, 65536, 3)
            self.fds.extend(fds)
            if not data:
                return None
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message


def ping(path: Path, timeout: float = 2.0) -> dict[str, Any] | None:
    """The runner's ``{"pid", "fingerprint"}``; None when nothing answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            if not peer_is_us(sock):
                return None
            send(sock, {"op": "ping"})
            return MessageReader(sock).next()
    except (OSError, ValueError):
        return None


def run_warm(argv: Sequence[str]) -> int | None:
    """Run ``seamline <argv>`` in a child of the warm runner and return its exit code;
    None when no runner takes the request (the caller then runs in-process)."""
    path = client_socket()
    if path is None or not path.exists() or holds_secrets(os.environ):
        return None
    request = {
        "op": "run",
        "argv": list(argv),
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "fingerprint": code_fingerprint(),
    }
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(5.0)
        sock.connect(str(path))
        if not peer_is_us(sock):
            sock.close()
            return None  # someone else's socket: tell it nothing
        send(sock, request, fds=[0, 1, 2])
        reader = MessageReader(sock)
        started = reader.next()
    except (OSError, ValueError):
        sock.close()
        return None
    if started is None or "pid" not in started:
        sock.close()
        return None  # refused: the caller runs in-process instead
    try:
        sock.settimeout(None)
        return _wait_for_exit(reader, int(started["pid"]))
    finally:
        sock.close()


def _wait_for_exit(reader: MessageReader, pid: int) -> int:
    """From here on the run has started: it must never be started a second time."""
    while True:
        try:
            message = reader.next()
        except KeyboardInterrupt:
            _forward(pid, signal.SIGINT)
            continue
        except (OSError, ValueError) as e:
            message = None
            sys.stderr.write(f"seamline: lost the warm runner's connection: {e}\n")
        if message is None:
            sys.stderr.write(
                f"seamline: the run's process (pid {pid}) ended without an exit code; "
                "see .seamline/logs/warm-runner.log\n"
            )
            return 3
        if "exit" in message:
            return int(message["exit"])


def _forward(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
