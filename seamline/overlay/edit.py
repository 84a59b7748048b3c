"""Set image references in an overlay and prove that the overlay renders them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seamline.adapters.roles import ManifestEditor
from seamline.errors import UsageError


def set_and_render(editor: ManifestEditor, overlay: Path, references: Mapping[str, str]) -> str:
    """Point each image name at its reference, render, and check that every reference is
    in the rendered manifests; return them. An image name no manifest uses would be set
    in ``images:`` and silently never deployed: that is a usage error."""
    editor.set_images(overlay, references)
    rendered = editor.build(overlay)
    unused = sorted(name for name, ref in references.items() if ref not in rendered)
    if unused:
        raise UsageError(
            f"overlay {overlay.name}: no manifest uses the image name(s) {', '.join(unused)}",
            hint="make each service's `image` in seamline.toml the image name its manifests "
            "use (the `image:` of a container, before the overlay's images: rewrites it)",
        )
    return rendered
