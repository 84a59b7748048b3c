"""The images a repository's kustomize tree deploys, per top-level kustomization, read from
its files (no tool runs): the image names an overlay's ``images:`` edit must use.

Bases, components and manifests are followed the way kustomize composes them: a base's or
component's ``images:`` renames (``newName``) apply to what it adds, a component's also to
what its parent already holds; a top-level kustomization's own ``images:`` is what seamline
writes, so it renames nothing. Paths that leave the repository, remote bases and files that
are not YAML are skipped with a note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seamline.errors import UsageError
from seamline.overlay.files import KUSTOMIZATION_FILES
from seamline.overlay.rendered import rendered_images
from seamline.validate.image_ref import ImageRef


@dataclass(frozen=True)
class Kustomization:
    folder: Path
    component: bool
    resources: tuple[str, ...]
    components: tuple[str, ...]
    renames: tuple[tuple[str, str], ...]  # (name, newName) of its images: entries


@dataclass
class KustomizeTree:
    """Every kustomization under a repository root, and what each deploys."""

    root: Path
    kustomizations: dict[Path, Kustomization] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def top_level(self) -> list[Path]:
        """Kustomizations no other one uses: the overlays (and any stand-alone tree)."""
        used: set[Path] = set()
        for k in self.kustomizations.values():
            used |= {p for p in (self._target(k, r) for r in k.resources + k.components) if p}
        return sorted(
            f for f, k in self.kustomizations.items() if not k.component and f not in used
        )

    def images_of(self, folder: Path) -> tuple[str, ...]:
        """The image names the top-level kustomization ``folder`` deploys, sorted."""
        return tuple(sorted(self._images(folder, set(), top=True, seen=())))

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    def _target(self, k: Kustomization, entry: str) -> Path | None:
        if "://" in entry or entry.startswith(("github.com/", "git@")):
            return None
        path = (k.folder / entry).resolve()
        if path != self.root and not path.is_relative_to(self.root):
            return None
        return path

    def _images(
        self, folder: Path, inherited: set[str], *, top: bool, seen: tuple[Path, ...]
    ) -> set[str]:
        k = self.kustomizations.get(folder)
        if k is None or folder in seen:
            return set(inherited)
        seen = (*seen, folder)
        found = set(inherited) if k.component else set()
        for entry in k.resources:
            path = self._target(k, entry)
            if path is None:
                self._note(
                    f"{self.relative(folder)}: resource {entry!r} is not in the repository: skipped"
                )
            elif path.is_dir():
                found |= self._images(path, set(), top=False, seen=seen)
            elif path.is_file():
                found |= self._manifest_images(path)
        for entry in k.components:
            path = self._target(k, entry)
            if path is not None and path.is_dir():
                found = self._images(path, found, top=False, seen=seen)
        if not top:
            found = {_renamed(name, k.renames) for name in found}
        return found

    def _manifest_images(self, path: Path) -> set[str]:
        try:
            images = rendered_images(path.read_text(errors="replace"), overlay=self.relative(path))
        except UsageError:
            self._note(f"{self.relative(path)} is not YAML: skipped")
            return set()
        return {n for n in (image_name(i.image) for i in images) if n}

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)


def image_name(reference: str) -> str:
    """``reference`` without its tag or digest; "" when it is not an image reference."""
    try:
        return ImageRef.parse(reference).name
    except UsageError:
        return ""


def _renamed(name: str, renames: tuple[tuple[str, str], ...]) -> str:
    for old, new in renames:
        if old == name and new:
            return image_name(new) or new
    return name


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _read(folder: Path, tree: KustomizeTree) -> Kustomization | None:
    path = next((folder / n for n in KUSTOMIZATION_FILES if (folder / n).is_file()), None)
    if path is None or path.is_symlink():
        return None
    try:
        data = yaml.safe_load(path.read_text(errors="replace"))
    except yaml.YAMLError:
        tree.notes.append(f"{tree.relative(path)} is not valid YAML: skipped")
        return None
    if not isinstance(data, dict):
        return None
    renames = tuple(
        (str(e["name"]), str(e.get("newName") or ""))
        for e in data.get("images") or []
        if isinstance(e, dict) and isinstance(e.get("name"), str)
    )
    return Kustomization(
        folder=folder,
        component=data.get("kind") == "Component",
        resources=_strings(data.get("resources")) + _strings(data.get("bases")),
        components=_strings(data.get("components")),
        renames=renames,
    )


def read_tree(root: Path) -> KustomizeTree:
    """Every kustomization under ``root`` (hidden folders and symlinks left out)."""
    root = root.resolve()
    tree = KustomizeTree(root=root)
    for folder, dirs, _files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "vendor")
        k = _read(Path(folder), tree)
        if k is not None:
            tree.kustomizations[k.folder] = k
    return tree
