"""Which process a run's OCI layout folders belong to, and removing those of processes
that are gone.

A run that releases nothing writes its images to ``.seamline/layouts/<run id>/``, and
removes the folder when it ends; an executor removes it when it reaps a run's process that
died first. A `--local` run killed outright has neither: its folder would stay, holding a
pull request's images. So the run's process writes an owner file (``seamline.tools.owner``:
the boot, its pid and that pid's start time) into the folder before building, and every
CI run first removes the folders whose owner is gone.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from seamline.tools.owner import owner_alive, owner_token

OWNER_FILE = ".owner"


def claim(folder: Path) -> None:
    """Make the run's layout folder ``folder``, owned by this process. The folder appears
    with its owner file already in it (made aside, then renamed into place), so a run
    sweeping at that moment never takes it for an orphan."""
    if folder.is_dir():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    aside = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.claim")
    aside.mkdir()
    (aside / OWNER_FILE).write_text(owner_token() + "\n")
    try:
        aside.rename(folder)
    except OSError:  # another thread of this run claimed it first
        shutil.rmtree(aside, ignore_errors=True)


def _alive(folder: Path) -> bool:
    try:
        return owner_alive((folder / OWNER_FILE).read_text())
    except OSError:
        return False


def remove_orphans(root: Path, *, keep: str = "") -> list[str]:
    """Remove every run layout folder under ``root`` whose owner process is gone (or that
    records none), except run ``keep``'s; the run ids removed. Only folders named by a
    run id are touched."""
    if not root.is_dir():
        return []
    removed = []
    for folder in sorted(root.iterdir()):
        try:
            run_id = str(uuid.UUID(folder.name))
        except ValueError:
            continue
        if run_id != folder.name or run_id == keep or not folder.is_dir() or _alive(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(run_id)
    return removed
