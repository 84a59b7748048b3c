"""Prefect writes logs to the console and to its API without masking anything: add it."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from seamline.logging_setup import RedactingFilter


def redact_prefect_logs(secrets: Sequence[str]) -> None:
    """Attach a redacting filter to every handler of every Prefect logger (call after import)."""
    redactor = RedactingFilter(secrets)
    loggers = [logging.getLogger()] + [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("prefect")
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(redactor)
