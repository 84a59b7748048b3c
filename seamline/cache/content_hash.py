"""Content hashes that cache keys are made of: a folder's files, or any JSON-able value."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

SKIP_DIRS = {".git", "__pycache__", ".pytest_cache"}


def tree_hash(root: Path) -> str:
    """sha256 over every file under ``root``: relative path, executable bit and bytes.

    Independent of timestamps and of the folder's own location, so the same source at
    another path (a fresh clone) hashes the same.
    """
    sha = hashlib.sha256()
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        # A symlink to a folder is not walked into: its target path is content.
        linked = [d for d in dirs if (Path(directory) / d).is_symlink()]
        dirs[:] = [d for d in dirs if d not in linked]
        for name in sorted([*files, *linked]):
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            executable = os.access(path, os.X_OK) and not path.is_symlink()
            sha.update(f"{relative}\0{int(executable)}\0".encode())
            if path.is_symlink():
                sha.update(os.readlink(path).encode())
            else:
                sha.update(hashlib.sha256(path.read_bytes()).digest())
    return sha.hexdigest()


def value_hash(*parts: Any) -> str:
    """sha256 of a canonical JSON rendering of ``parts``."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
