"""Human output on stderr, with every known secret masked before it is written."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from seamline.errors import SeamlineError
from seamline.output.redaction import redact


class RedactingFilter(logging.Filter):
    """Masks secrets in the fully formatted message of every record it sees, and drops the
    traceback of seamline's own errors, whose messages say what happened and what to do."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message, self._secrets)
        record.args = None
        if record.exc_info and isinstance(record.exc_info[1], SeamlineError):
            # An expected failure explains itself in its message: no traceback.
            record.exc_info = None
            record.exc_text = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(
                logging.Formatter().formatException(record.exc_info), self._secrets
            )
            record.exc_info = None
        return True


def configure(*, verbose: bool, secrets: Sequence[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger("seamline")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
