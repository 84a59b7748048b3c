"""An overlay's files as seamline reads and writes them: the image pins of its
``kustomization.yaml`` and ``seamline-pins.json``, the record of which source commit
produced each pinned image.

``seamline-pins.json`` sits beside the kustomization (kustomize ignores files it does not
reference). One entry per image, written by every bump that moves the image:

    {"format": 1, "images": {"bookstore/catalog": {
        "reference": "127.0.0.1:5000/bookstore/catalog@sha256:…",
        "source_commit": "<40 hex>", "source_repo": "…", "flow_run": "…"}}}

The GitOps repository is not trusted either: a record that does not parse, or whose
commit is not a full commit id, is reported and ignored, never handed to git.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from seamline.errors import UsageError
from seamline.policy.overlay_moves import Pin
from seamline.validate.names import is_full_commit

PINS_FILE = "seamline-pins.json"
KUSTOMIZATION = "kustomization.yaml"
# The file names kustomize reads a kustomization from, in its order.
KUSTOMIZATION_FILES = (KUSTOMIZATION, "kustomization.yml", "Kustomization")
FORMAT = 1


def kustomization_of(overlay: Path) -> Path:
    """The overlay's kustomization file. It and the pins file are written by seamline, so
    neither may be a symlink (a write would go wherever it points)."""
    for name in (PINS_FILE, *KUSTOMIZATION_FILES):
        if (overlay / name).is_symlink():
            raise UsageError(
                f"overlay {overlay.name}: {name} is a symlink",
                hint="make it a regular file in the GitOps repository",
            )
    for name in KUSTOMIZATION_FILES:
        if (overlay / name).is_file():
            return overlay / name
    raise UsageError(
        f"overlay {overlay} has no kustomization.yaml",
        hint="check pipeline.overlay_root and the overlay name",
    )


def is_kustomization_folder(folder: Path) -> bool:
    return any((folder / name).is_file() for name in KUSTOMIZATION_FILES)


def current_images(overlay: Path) -> dict[str, str]:
    """Image name -> the reference the overlay's ``images:`` sets it to."""
    path = kustomization_of(overlay)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise UsageError(f"{path} is not valid YAML: {e}", hint="fix the file") from e
    entries = data.get("images") if isinstance(data, dict) else None
    found: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        target = str(entry.get("newName") or entry["name"])
        if entry.get("digest"):
            found[entry["name"]] = f"{target}@{entry['digest']}"
        elif entry.get("newTag") is not None:
            found[entry["name"]] = f"{target}:{entry['newTag']}"
        else:
            found[entry["name"]] = target
    return found


def read_pins(overlay: Path) -> tuple[dict[str, Pin], list[str]]:
    """The recorded pins, and a note for every record ignored as unreadable."""
    path = overlay / PINS_FILE
    if not path.is_file():
        return {}, []
    try:
        data: Any = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}, [f"{path.name} is not valid JSON: ignored"]
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        return {}, [f"{path.name} has no images table: ignored"]
    pins: dict[str, Pin] = {}
    notes: list[str] = []
    for image, record in images.items():
        commit = record.get("source_commit") if isinstance(record, dict) else None
        reference = record.get("reference") if isinstance(record, dict) else None
        if not isinstance(commit, str) or not is_full_commit(commit):
            notes.append(f"{path.name}: {image}: no valid source_commit: ignored")
            continue
        if not isinstance(reference, str):
            notes.append(f"{path.name}: {image}: no reference: ignored")
            continue
        pins[str(image)] = Pin(
            reference=reference,
            source_commit=commit,
            source_repo=str(record.get("source_repo", "")),
            flow_run=str(record.get("flow_run", "")),
        )
    return pins, notes


def write_pins(overlay: Path, pins: dict[str, Pin]) -> None:
    document = {
        "format": FORMAT,
        "images": {
            image: {
                "reference": pin.reference,
                "source_commit": pin.source_commit,
                "source_repo": pin.source_repo,
                "flow_run": pin.flow_run,
            }
            for image, pin in sorted(pins.items())
        },
    }
    (overlay / PINS_FILE).write_text(json.dumps(document, indent=2) + "\n")


# The trailer that marks seamline's own overlay-bump commits (its value: the flow run).
BUMP_TRAILER = "Seamline-Bump"


def is_bump_commit(message: str) -> bool:
    """Whether a commit message ends with seamline's bump trailer."""
    trailers = message.strip().split("\n\n")[-1].splitlines()
    return any(line.startswith(f"{BUMP_TRAILER}: ") for line in trailers)
