"""Secrets the stack generates into its state folder: files only their owner may read.

A secret file readable by others is refused rather than used, so a copied or restored state
folder with loose modes fails loudly instead of leaking quietly.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from seamline.errors import StateCorrupt


def read_private(path: Path) -> str | None:
    """The file's stripped text; None when it is missing or empty."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if mode & 0o077:
        raise StateCorrupt(
            f"{path} is readable by others (mode {mode:o})", hint=f"chmod 600 {path}"
        )
    return path.read_text().strip() or None


def write_private(path: Path, value: str) -> None:
    """Write ``value`` to a new 0600 file in a 0700 folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as sink:
        sink.write(value)
