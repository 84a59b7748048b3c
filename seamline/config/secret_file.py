"""Secrets kept in files: readable by their owner only, never empty."""

from __future__ import annotations

import stat
from pathlib import Path

from pydantic import SecretStr

from seamline.errors import StateCorrupt


def read_secret_file(path: Path, *, hint: str) -> SecretStr:
    """The stripped text of ``path``; refused when it is missing, empty or readable by
    others. ``hint`` says how to provide the file."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError as e:
        raise StateCorrupt(f"{path} is missing", hint=hint) from e
    if mode & 0o077:
        raise StateCorrupt(
            f"{path} is readable by others (mode {mode:o})", hint=f"chmod 600 {path}"
        )
    value = path.read_text().strip()
    if not value:
        raise StateCorrupt(f"{path} is empty", hint=hint)
    return SecretStr(value)
