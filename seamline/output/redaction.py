"""Masking of secret values in anything seamline prints, logs or raises."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each non-empty secret in ``text`` by a mask, whatever
    its letter case: tools quote what they were fed in upper case too (the Docker
    builder's "unknown instruction: …" does)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = re.sub(re.escape(secret), MASK, text, flags=re.IGNORECASE)
    return text
