"""Paths a repository names for itself, held inside that repository.

A repository under test is not trusted: a path in its ``seamline.toml`` that climbs out
(``../../secrets``), is absolute, or runs through a symlink to somewhere else would make
seamline read, build or commit files that are not the repository's. Every such path is
resolved, symlinks included, and must stay below the repository's own resolved root.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from seamline.errors import UsageError

RULE = "paths are relative to the repository root and stay inside it, symlinks included"


def inside(root: Path, relative: str, *, what: str, source: str) -> Path:
    """``root/relative`` with every symlink resolved; UsageError unless it is inside
    ``root``. ``what`` names the setting and ``source`` the file it came from."""
    if not relative or PurePosixPath(relative).is_absolute() or "\\" in relative:
        raise UsageError(f"{source}: {what} = {relative!r} is not a relative path", hint=RULE)
    base = root.resolve()
    target = (base / relative).resolve()
    if target != base and not target.is_relative_to(base):
        raise UsageError(
            f"{source}: {what} = {relative!r} leads outside the repository (to {target})",
            hint=RULE,
        )
    return target


def existing_inside(
    root: Path, relative: str, *, what: str, source: str, folder: bool = False
) -> Path:
    """``inside``, and the path must be an existing file (or, with ``folder``, folder)."""
    path = inside(root, relative, what=what, source=source)
    if not (path.is_dir() if folder else path.is_file()):
        raise UsageError(
            f"{source}: {what} = {relative!r}: {path} is not a {'folder' if folder else 'file'}",
            hint="fix the path (relative to the repository root)",
        )
    return path
