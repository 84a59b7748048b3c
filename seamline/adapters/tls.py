"""One TLS context per process for seamline's HTTP clients.

httpx builds a fresh context (loading every CA certificate) for each client it creates,
which costs tens of milliseconds of CPU; seamline creates clients per task, so it hands
them this shared, fully verifying one instead.
"""

from __future__ import annotations

import ssl
from functools import cache


@cache
def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()
