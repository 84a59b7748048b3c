"""The services a repository builds: each Dockerfile, and the Go module it builds from.

A service is a Dockerfile; its build context is the nearest folder at or above the
Dockerfile that holds a ``go.mod`` (inside the repository), or the Dockerfile's own folder
when no module is found. Its name is the Dockerfile's folder name (or the module folder's,
when the Dockerfile sits in a generic folder such as ``build/``), sanitized to a seamline
name; every sanitized or de-duplicated name says so in a note.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from seamline.validate.names import check_name

DOCKERFILE_NAMES = ("Dockerfile", "Containerfile")
# Folders that hold no service's source, or none of the repository's own.
SKIPPED_FOLDERS = {"vendor", "node_modules", "testdata", "third_party"}
# Folders named for their role, not the service: the name comes from the module instead.
GENERIC_FOLDERS = {"build", "docker", "deploy", "ci", "dist", "image", "images", "container"}
_NOT_NAME = re.compile(r"[^a-z0-9-]+")
_MODULE_LINE = re.compile(r"^module\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True, kw_only=True)
class DiscoveredService:
    """One Dockerfile, with paths relative to the repository root (POSIX, ``.`` for it)."""

    name: str
    context: str
    dockerfile: str  # relative to the context, as seamline.toml takes it
    module: str  # the Go module path, "" when no go.mod was found
    notes: tuple[str, ...] = ()

    @property
    def candidates(self) -> tuple[str, ...]:
        """Names an image of this service may carry: its own, its folders', its module's."""
        found = [self.name, sanitize(PurePosixPath(self.context).name)]
        if self.module:
            found.append(sanitize(self.module.rstrip("/").rsplit("/", 1)[-1]))
        return tuple(dict.fromkeys(n for n in found if n))


def sanitize(raw: str) -> str:
    """``raw`` as a seamline name (lowercase letters, digits, dashes; at most 63), or ""."""
    name = _NOT_NAME.sub("-", raw.lower()).strip("-")
    name = re.sub("-{2,}", "-", name)[:63].rstrip("-")
    return name


def _walk(root: Path) -> list[Path]:
    """Every Dockerfile under ``root``, not following symlinks, skipping hidden and
    vendored folders."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS)
        here = Path(folder)
        found += [
            here / f for f in sorted(files) if f in DOCKERFILE_NAMES and not (here / f).is_symlink()
        ]
    return found


def _module_root(root: Path, folder: Path) -> Path | None:
    """The nearest folder at or above ``folder``, inside ``root``, that holds a go.mod."""
    current = folder
    while True:
        go_mod = current / "go.mod"
        if go_mod.is_file() and not go_mod.is_symlink():
            return current
        if current == root:
            return None
        current = current.parent


def _module_path(module_root: Path) -> str:
    match = _MODULE_LINE.search((module_root / "go.mod").read_text(errors="replace"))
    return match.group(1).strip("\"'") if match else ""


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def _name_for(root: Path, dockerfile: Path, context: Path) -> tuple[str, list[str]]:
    folder = dockerfile.parent
    source = folder if folder.name not in GENERIC_FOLDERS and folder != root else context
    raw = source.name if source != root else root.name
    name = sanitize(raw) or "service"
    notes = []
    if name != raw:
        notes.append(f"name {name!r} sanitized from the folder name {raw!r}")
    check_name(name, what="service name")
    return name, notes


def discover_services(root: Path) -> list[DiscoveredService]:
    """Every service of the repository at ``root``, in path order, names unique."""
    root = root.resolve()
    services: list[DiscoveredService] = []
    taken: set[str] = set()
    for dockerfile in _walk(root):
        module_root = _module_root(root, dockerfile.parent)
        context = module_root or dockerfile.parent
        name, notes = _name_for(root, dockerfile, context)
        if module_root is None:
            notes.append("no go.mod at or above its Dockerfile: the context is its folder")
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name[:60]}-{n}", n + 1
        if unique != name:
            notes.append(f"named {unique!r}: {name!r} is taken by another Dockerfile")
        taken.add(unique)
        services.append(
            DiscoveredService(
                name=unique,
                context=_relative(root, context),
                dockerfile=dockerfile.relative_to(context).as_posix(),
                module=_module_path(module_root) if module_root else "",
                notes=tuple(notes),
            )
        )
    return services
