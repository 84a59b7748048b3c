"""A proposed ``seamline.toml`` for a repository: its services matched to the images its
kustomize tree deploys, and its overlays.

A service matches the image whose last path component, sanitized, is one of the service's
names (its own, its folders', its Go module's). The overlay root is the folder holding the
most top-level kustomizations; a lone top-level kustomization not named for an environment
is a single overlay of its own. Everything guessed is said in a note, and in the file.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seamline.config.pipeline import DEFAULT_PROMOTIONS, PipelineSection
from seamline.errors import UsageError
from seamline.onboard.bases import ProposedBases, propose_bases
from seamline.onboard.discover import DiscoveredService, discover_services, sanitize
from seamline.onboard.kustomize_tree import KustomizeTree, read_tree
from seamline.validate.image_ref import ImageRef
from seamline.validate.names import check_name

# Environment names from least to most trusted: promotions run along this order.
STAGES = (
    ("dev", "development", "develop", "sandbox"),
    ("test", "testing", "qa", "int", "integration"),
    ("staging", "stage", "stg", "preprod", "pre-prod", "uat"),
    ("prod", "production", "prd", "live"),
)
OVERLAY_FOLDERS = ("overlays", "envs", "environments", "clusters")
LINT_CONFIGS = (".golangci.yml", ".golangci.yaml", ".golangci.toml", ".golangci.json")


@dataclass(frozen=True, kw_only=True)
class ProposedService:
    name: str
    context: str
    dockerfile: str
    image: str  # the name the manifests use
    repository: str  # in the target registry
    matched: bool  # whether a manifest uses ``image``
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Proposal:
    registry: str
    overlay_root: str
    overlays: tuple[str, ...]
    single_overlay: bool  # overlay_root is itself the one overlay
    default_overlay: str
    promotions: dict[str, str]
    lint_config: str | None
    services: tuple[ProposedService, ...]
    unmatched_images: tuple[str, ...]  # images the manifests use that no Dockerfile builds
    notes: tuple[str, ...]
    bases: ProposedBases = field(default_factory=lambda: ProposedBases(mapped={}, unmapped=()))
    stand_ins_known: bool = True  # False: no mirror's tags known, every base left upstream

    def to_json(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "overlay_root": self.overlay_root,
            "overlays": list(self.overlays),
            "single_overlay": self.single_overlay,
            "default_overlay": self.default_overlay,
            "promotions": self.promotions,
            "lint_config": self.lint_config,
            "services": [
                {
                    "name": s.name,
                    "context": s.context,
                    "dockerfile": s.dockerfile,
                    "image": s.image,
                    "repository": s.repository,
                    "matched": s.matched,
                    "notes": list(s.notes),
                }
                for s in self.services
            ],
            "unmatched_images": list(self.unmatched_images),
            "notes": list(self.notes),
            "base_images": dict(self.bases.mapped),
            "upstream_bases": list(self.bases.unmapped),
        }


def _stage(name: str) -> int | None:
    return next((i for i, names in enumerate(STAGES) if name in names), None)


def _repository(image: str) -> str:
    """The image's repository without its registry host: where it goes in ours."""
    try:
        return ImageRef.parse(image).repository.removeprefix("library/")
    except UsageError:
        return sanitize(image.rsplit("/", 1)[-1]) or "service"


def match_services(
    services: list[DiscoveredService], images: tuple[str, ...]
) -> tuple[list[ProposedService], tuple[str, ...]]:
    """Each service with the image it builds, and the images no service builds."""
    by_key: dict[str, list[str]] = {}
    for image in images:
        by_key.setdefault(sanitize(image.rsplit("/", 1)[-1]), []).append(image)
    proposed: list[ProposedService] = []
    used: set[str] = set()
    for service in services:
        notes = list(service.notes)
        found = next(
            (by_key[c] for c in service.candidates if c in by_key and set(by_key[c]) - used), []
        )
        free = [i for i in found if i not in used]
        if free:
            image = free[0]
            if len(free) > 1:
                notes.append(f"several images could be its: {', '.join(free)}; took {image}")
        else:
            image = service.name
            notes.append(
                f"no manifest uses an image named like it: image {image!r} is a guess, set "
                "the name its manifests use"
            )
        used.add(image)
        proposed.append(
            ProposedService(
                name=service.name,
                context=service.context,
                dockerfile=service.dockerfile,
                image=image,
                repository=_repository(image),
                matched=bool(free),
                notes=tuple(notes),
            )
        )
    return proposed, tuple(i for i in images if i not in used)


@dataclass(frozen=True)
class _Overlays:
    root: str
    names: tuple[str, ...]
    single: bool
    images: tuple[str, ...]
    notes: tuple[str, ...]


def find_overlays(tree: KustomizeTree) -> _Overlays:
    """The overlay root, its overlays, and the images they deploy."""
    tops = tree.top_level()
    if not tops:
        return _Overlays("kustomize/overlays", (), False, (), ("no kustomization found",))
    notes: list[str] = []
    parents: dict[Path, list[Path]] = {}
    for top in tops:
        parents.setdefault(top.parent, []).append(top)
    parent = max(sorted(parents), key=lambda p: (len(parents[p]), p.name in OVERLAY_FOLDERS))
    members = parents[parent]
    if len(tops) == 1 and _stage(tops[0].name) is None:
        only = tops[0]
        notes.append(
            f"{tree.relative(only)} is the only top-level kustomization: it is the one overlay"
        )
        return _Overlays(tree.relative(only), (), True, tree.images_of(only), tuple(notes))
    names: list[str] = []
    images: dict[str, None] = {}
    for folder in members:
        try:
            names.append(check_name(folder.name, what="overlay name"))
        except UsageError:
            notes.append(
                f"{tree.relative(folder)}: {folder.name!r} is not a valid overlay name: left "
                "out (rename the folder to use it)"
            )
            continue
        images.update(dict.fromkeys(tree.images_of(folder)))
    others = [tree.relative(t) for t in tops if t.parent != parent]
    if others:
        notes.append(f"other top-level kustomizations left out: {', '.join(others)}")
    return _Overlays(
        tree.relative(parent), tuple(names), False, tuple(sorted(images)), tuple(notes)
    )


def _ranked(names: tuple[str, ...]) -> list[str]:
    """The names that are environments, least trusted first."""
    stages = {n: _stage(n) for n in names}
    return sorted((n for n, s in stages.items() if s is not None), key=lambda n: stages[n] or 0)


def _default_overlay(names: tuple[str, ...]) -> str:
    ranked = _ranked(names)
    if ranked:
        return ranked[0]
    return names[0] if names else str(PipelineSection.model_fields["default_overlay"].default)


def _promotions(names: tuple[str, ...]) -> dict[str, str]:
    """Consecutive environments in ``STAGES`` order; {} when that is the default chain."""
    pairs = dict(itertools.pairwise(_ranked(names)))
    return {} if pairs == DEFAULT_PROMOTIONS else pairs


def _dockerfile_texts(root: Path, services: list[DiscoveredService]) -> list[str]:
    return [
        (root / s.context / s.dockerfile).read_text(encoding="utf-8", errors="replace")
        for s in services
    ]


def propose(root: Path, *, registry: str, stand_ins: Mapping[str, str] | None = None) -> Proposal:
    """The seamline.toml proposed for the repository at ``root``. ``stand_ins``: the
    ``[pipeline.base_images]`` keys a mirror serves (``default_mapping``); None when
    unknown, so every base is left for the reader to map."""
    root = root.resolve()
    services = discover_services(root)
    if not services:
        raise UsageError(
            f"no Dockerfile found under {root}",
            hint="seamline builds one image per Dockerfile: run init where they are",
        )
    tree = read_tree(root)
    overlays = find_overlays(tree)
    images = overlays.images or tuple(
        sorted({i for top in tree.top_level() for i in tree.images_of(top)})
    )
    proposed, unmatched = match_services(services, images)
    notes = list(overlays.notes) + tree.notes
    default = _default_overlay(overlays.names)
    if overlays.names:
        notes.append(f"default_overlay {default!r} guessed from {', '.join(overlays.names)}")
    for name in overlays.names:
        missing = [
            s.image
            for s in proposed
            if s.matched and s.image not in tree.images_of(root / overlays.root / name)
        ]
        if missing:
            notes.append(f"overlay {name} deploys no {', '.join(missing)}: a bump there is refused")
    lint = next((n for n in LINT_CONFIGS if (root / n).is_file()), None)
    bases = propose_bases(_dockerfile_texts(root, services), stand_ins or {})
    return Proposal(
        registry=registry,
        overlay_root=overlays.root,
        overlays=overlays.names,
        single_overlay=overlays.single,
        default_overlay=default,
        promotions=_promotions(overlays.names),
        lint_config=lint,
        services=tuple(proposed),
        unmatched_images=unmatched,
        notes=tuple(notes),
        bases=bases,
        stand_ins_known=stand_ins is not None,
    )
