"""Unix datagram sockets that only wake a sleeping process (an idle executor, a command
waiting for its run): what arrives is never read for meaning, only drained."""

from __future__ import annotations

import os
import select
import socket
from pathlib import Path


def bind_wake(path: Path) -> socket.socket:
    """A non-blocking datagram socket at ``path`` (replacing a stale one), for this user
    only; OSError when it cannot be bound (a path too long for a socket name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o600)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def sleep_until_woken(sock: socket.socket, timeout: float) -> bool:
    """Sleep up to ``timeout`` seconds or until a datagram arrives (all waiting ones are
    drained); True when woken."""
    ready, _, _ = select.select([sock], [], [], timeout)
    if not ready:
        return False
    try:
        while sock.recv(64):
            pass
    except BlockingIOError:
        pass
    return True
