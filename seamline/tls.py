"""One TLS context per process for seamline's HTTP clients.

httpx builds a fresh context (loading every CA certificate) for each client it creates,
which costs tens of milliseconds of CPU; seamline creates clients per task, so it hands
them this shared, fully verifying one instead.
"""

from __future__ import annotations

import ssl
import threading

_lock = threading.Lock()
_context: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    global _context
    with _lock:
        if _context is None:
            _context = ssl.create_default_context()
        return _context
