"""What a run of the CI flow would do with a repository's config, without building: the
report `seamline check` prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class ServicePreview:
    name: str
    context: str
    dockerfile: str  # relative to the repository root
    image: str  # the name the manifests use
    target: str  # registry/repository the image is pushed to
    overlay_pin: str | None  # what the overlay pins the image to now; None: not checked


@dataclass(frozen=True, kw_only=True)
class RunPreview:
    repo: str
    branch: str | None
    overlay: str | None  # what a push to the branch bumps; None: build and scan only
    overlay_checked: str  # where the overlay was rendered, or why it was not
    services: tuple[ServicePreview, ...]
    checks: tuple[str, ...]  # the stages, in order
    warnings: tuple[str, ...]  # what would stop or weaken a run, config aside

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "branch": self.branch,
            "overlay": self.overlay,
            "overlay_checked": self.overlay_checked,
            "services": [
                {
                    "name": s.name,
                    "context": s.context,
                    "dockerfile": s.dockerfile,
                    "image": s.image,
                    "target": s.target,
                    "overlay_pin": s.overlay_pin,
                }
                for s in self.services
            ],
            "checks": list(self.checks),
            "warnings": list(self.warnings),
        }

    def lines(self) -> list[str]:
        """The human report: one block per service, then the checks and warnings."""
        bumps = (
            f"a push bumps overlay {self.overlay}"
            if self.overlay
            else "a push bumps no overlay: build and scan only"
        )
        out = [
            f"{self.repo}: branch {self.branch or '(none)'}; {bumps}",
            f"  overlay: {self.overlay_checked}",
        ]
        for s in self.services:
            out.append(f"  {s.name}: {s.dockerfile} (context {s.context})")
            pin = f"; the overlay pins it to {s.overlay_pin}" if s.overlay_pin else ""
            out.append(f"      image {s.image} -> {s.target}@<digest>{pin}")
        out.append("  checks: " + ", ".join(self.checks))
        out += [f"  warning: {w}" for w in self.warnings]
        return out
