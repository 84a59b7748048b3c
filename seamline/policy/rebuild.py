"""Whether a rebuilt image is the recorded one, and if not, where they part.

Two images are identical when their manifest digests are; otherwise their manifests are
compared config first, then layer by layer in order, and each differing layer is named
with the Dockerfile instruction that made it (from the image config's history).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from seamline.policy.findings import ReportFormatError


@dataclass(frozen=True, kw_only=True)
class LayerDifference:
    """One layer position where the recorded and the rebuilt image differ ("" = absent)."""

    index: int
    recorded: str
    rebuilt: str
    instruction: str  # the history's created_by for this layer, "" when unknown


@dataclass(frozen=True, kw_only=True)
class RebuildComparison:
    recorded_digest: str
    rebuilt_digest: str
    config_differs: bool = False
    layers: tuple[LayerDifference, ...] = ()

    @property
    def identical(self) -> bool:
        return self.recorded_digest == self.rebuilt_digest

    def as_json(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "recordedDigest": self.recorded_digest,
            "rebuiltDigest": self.rebuilt_digest,
            "configDiffers": self.config_differs,
            "layers": [
                {
                    "index": layer.index,
                    "recorded": layer.recorded,
                    "rebuilt": layer.rebuilt,
                    "instruction": layer.instruction,
                }
                for layer in self.layers
            ],
        }


def _digests(manifest: Mapping[str, Any], what: str) -> tuple[str, list[str]]:
    try:
        config = str(manifest["config"]["digest"])
        layers = [str(layer["digest"]) for layer in manifest["layers"]]
    except (LookupError, TypeError) as e:
        raise ReportFormatError(f"the {what} image manifest is unreadable: {e!r}") from e
    return config, layers


def layer_instructions(config: Mapping[str, Any]) -> list[str]:
    """The ``created_by`` of each history entry that made a layer, in layer order."""
    history = config.get("history")
    if not isinstance(history, list):
        return []
    return [
        str(entry.get("created_by", ""))
        for entry in history
        if isinstance(entry, dict) and not entry.get("empty_layer")
    ]


def compare_manifests(
    *,
    recorded_digest: str,
    recorded_manifest: Mapping[str, Any],
    rebuilt_digest: str,
    rebuilt_manifest: Mapping[str, Any],
    rebuilt_config: Mapping[str, Any] | None = None,
) -> RebuildComparison:
    """The comparison of two image manifests (decoded JSON); ``rebuilt_config``, the
    rebuilt image's config, names the instruction behind each differing layer."""
    if recorded_digest == rebuilt_digest:
        return RebuildComparison(recorded_digest=recorded_digest, rebuilt_digest=rebuilt_digest)
    recorded_config, recorded_layers = _digests(recorded_manifest, "recorded")
    rebuilt_config_digest, rebuilt_layers = _digests(rebuilt_manifest, "rebuilt")
    instructions = layer_instructions(rebuilt_config or {})
    differences = []
    for index in range(max(len(recorded_layers), len(rebuilt_layers))):
        old = recorded_layers[index] if index < len(recorded_layers) else ""
        new = rebuilt_layers[index] if index < len(rebuilt_layers) else ""
        if old != new:
            instruction = instructions[index] if index < len(instructions) else ""
            differences.append(
                LayerDifference(index=index, recorded=old, rebuilt=new, instruction=instruction)
            )
    return RebuildComparison(
        recorded_digest=recorded_digest,
        rebuilt_digest=rebuilt_digest,
        config_differs=recorded_config != rebuilt_config_digest,
        layers=tuple(differences),
    )
