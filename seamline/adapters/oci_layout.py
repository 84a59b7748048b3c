"""Reads an OCI image layout folder (``index.json``, ``blobs/<algorithm>/<hex>``), the
way a registry's manifests and blobs are read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seamline.errors import ToolFailed


class OciLayout:
    """The manifests and blobs of one layout folder; ``name`` arguments are ignored (a
    layout holds one image's blobs)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def blob(self, name: str, digest: str) -> bytes:
        algorithm, _, value = digest.partition(":")
        path = self._path / "blobs" / algorithm / value
        try:
            return path.read_bytes()
        except OSError as e:
            raise ToolFailed(f"the OCI layout {self._path} holds no blob {digest}: {e}") from e

    def manifest(self, name: str, reference: str) -> dict[str, Any] | None:
        """The manifest ``reference`` (a digest), None when the layout lacks it."""
        try:
            document: dict[str, Any] = json.loads(self.blob(name, reference))
        except ToolFailed:
            return None
        return document
