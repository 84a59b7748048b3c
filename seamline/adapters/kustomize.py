"""kustomize: render an overlay, set an image by digest."""

from __future__ import annotations

from pathlib import Path

from seamline.runner import run


class Kustomize:
    def __init__(self, *, binary: Path) -> None:
        self._binary = binary

    def build(self, overlay: Path) -> str:
        """The rendered manifests of ``overlay``; raises ToolFailed if it does not render."""
        return run(
            [str(self._binary), "build", str(overlay)],
            timeout=120,
            hint=f"fix {overlay}/kustomization.yaml so that `kustomize build` renders",
        ).stdout

    def set_image(self, overlay: Path, name: str, repository: str, digest: str) -> None:
        run(
            [str(self._binary), "edit", "set", "image", f"{name}={repository}@{digest}"],
            cwd=overlay,
            timeout=60,
        )
