"""The SLSA v1 provenance predicate seamline attests for every image it builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seamline import __version__
from seamline.run.results import SubstitutedBase

BUILD_TYPE = "https://seamline.dev/buildtypes/docker-classic/v1"
BUILDKIT_BUILD_TYPE = "https://seamline.dev/buildtypes/buildkit/v1"
BUILD_TYPES = {"docker": BUILD_TYPE, "buildkit": BUILDKIT_BUILD_TYPE}
"""The build type per image builder: only BuildKit's builds are reproducible."""
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
PROVENANCE_TYPE = "slsaprovenance1"
"""cosign's ``--type`` for ``PREDICATE_TYPE``."""


@dataclass(frozen=True)
class BuildFacts:
    """What went into one image build; everything the predicate states comes from here."""

    builder_id: str
    source_repo: str
    source_commit: str
    service: str
    context: str
    dockerfile: str
    build_args: dict[str, str]
    base_images: dict[str, str]  # reference -> sha256:digest
    flow_run_id: str
    flow_run_url: str
    started: datetime
    finished: datetime
    extra: dict[str, str] = field(default_factory=dict)
    substituted: tuple[SubstitutedBase, ...] = ()
    builder: str = "docker"  # the image builder's kind: "docker" or "buildkit"
    source_date_epoch: int = 0  # the commit's time, every timestamp of a BuildKit image
    final_stage: str = ""  # the build copy's last stage, when seamline named it


def _digest_map(digest: str) -> dict[str, str]:
    algorithm, _, value = digest.partition(":")
    return {algorithm: value}


def _image(reference: str, digest: str, **annotations: str) -> dict[str, Any]:
    """An image as a resolved dependency; its digest only where it is known."""
    found: dict[str, Any] = {"uri": f"oci://{reference}"}
    if digest:
        found["digest"] = _digest_map(digest)
    return {**found, "annotations": annotations} if annotations else found


def _substitutions(bases: tuple[SubstitutedBase, ...]) -> list[dict[str, Any]]:
    """Both sides of every base the build copy replaced: the reference the Dockerfile
    names, and the mirror the build pulled instead."""
    found: list[dict[str, Any]] = []
    for base in bases:
        found.append(_image(base.original, base.original_digest, substitutedBy=base.substituted))
        found.append(_image(base.substituted, base.substituted_digest, substitutes=base.original))
    return found


def slsa_provenance(facts: BuildFacts) -> dict[str, Any]:
    """A SLSA v1 ``predicate`` (the part cosign wraps into an in-toto statement)."""
    dependencies: list[dict[str, Any]] = [
        {
            "uri": f"git+{facts.source_repo}",
            "digest": {"gitCommit": facts.source_commit},
        }
    ]
    dependencies += [
        {"uri": f"oci://{reference}", "digest": _digest_map(digest)}
        for reference, digest in sorted(facts.base_images.items())
    ]
    dependencies += _substitutions(facts.substituted)
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPES[facts.builder],
            "externalParameters": {
                "source": {"repository": facts.source_repo, "revision": facts.source_commit},
                "service": facts.service,
                "context": facts.context,
                "dockerfile": facts.dockerfile,
                "buildArgs": dict(sorted(facts.build_args.items())),
            },
            "internalParameters": {
                "flowRunId": facts.flow_run_id,
                "builder": facts.builder,
                "sourceDateEpoch": facts.source_date_epoch,
                **({"finalStage": facts.final_stage} if facts.final_stage else {}),
                **facts.extra,
            },
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": {"id": facts.builder_id, "version": {"seamline": __version__}},
            "metadata": {
                "invocationId": facts.flow_run_url,
                "startedOn": facts.started.isoformat(),
                "finishedOn": facts.finished.isoformat(),
            },
        },
    }
