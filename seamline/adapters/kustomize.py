"""kustomize: render an overlay, set images by digest."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seamline.tools.process import run


class Kustomize:
    def __init__(self, *, binary: Path) -> None:
        self._binary = binary

    def build(self, overlay: Path) -> str:
        """The rendered manifests of ``overlay``; raises ToolFailed, with kustomize's own
        message, if it does not render."""
        return run(
            [str(self._binary), "build", "--", str(overlay)],
            timeout=120,
            hint=f"fix {overlay}/kustomization.yaml so that `kustomize build` renders",
        ).stdout

    def set_images(self, overlay: Path, references: Mapping[str, str]) -> None:
        """Point each image name at its ``repository@digest``, in one edit."""
        if not references:
            return
        run(
            [
                str(self._binary),
                "edit",
                "set",
                "image",
                "--",
                *(f"{name}={reference}" for name, reference in sorted(references.items())),
            ],
            cwd=overlay,
            timeout=60,
            hint=f"fix the images: list of {overlay}/kustomization.yaml",
        )
