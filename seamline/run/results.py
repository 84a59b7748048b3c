"""Typed results that pipeline stages hand each other (and that Prefect persists)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from seamline.validate.image_ref import ImageRef

# Part of every cache key: bump it whenever a result type below changes shape, so a cached
# result of the old shape is never handed to new code.
RESULTS_VERSION = 8

Event = Literal["push", "pull_request"]
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


@dataclass(frozen=True)
class Workspace:
    """A checkout of the source repository at one commit."""

    path: str
    repo: str
    commit: str
    branch: str | None = None  # the branch the commit came from, when the run knows it
    commit_time: int = 0  # committer time (seconds since the epoch): the image's "created"


@dataclass(frozen=True)
class BuildTestResult:
    service: str
    tests_passed: int
    tests_failed: int
    tests_skipped: int
    # What the checks found that does not block: failing checks the repository lets
    # through, lint findings older than the baseline.
    reported: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubstitutedBase:
    """A base image the Dockerfile names and the mirror the build used instead; a digest
    is "" where it is not known (an upstream reference without a pin)."""

    original: str
    original_digest: str
    substituted: str
    substituted_digest: str


@dataclass(frozen=True)
class BuiltImage:
    service: str
    image_id: str
    local_ref: str
    base_digests: dict[str, str]
    build_args: dict[str, str]
    started: str  # ISO 8601, for the provenance
    finished: str
    substituted: tuple[SubstitutedBase, ...] = ()  # [pipeline.base_images] at work
    # The manifest digest in the registry when the builder pushed as it built (BuildKit);
    # empty when the image is in the local engine only until the push stage.
    registry_digest: str = ""
    # The OCI layout folder the image was written to instead of the registry (a BuildKit
    # build of a run that releases nothing); empty otherwise. Removed when the run ends.
    layout: str = ""
    # The build copy's last stage, named by seamline if unnamed and built without
    # BuildKit's cache; empty when not asked for. A rebuild names it alike: the name shows
    # in the image's history.
    final_stage: str = ""

    @property
    def registry_ref(self) -> str:
        """``registry/repository@digest`` of what the builder pushed; empty if nothing."""
        if not self.registry_digest:
            return ""
        return f"{ImageRef.parse(self.local_ref).name}@{self.registry_digest}"


@dataclass(frozen=True)
class PushedImage:
    service: str
    repository: str  # registry/repo
    digest: str

    @property
    def ref(self) -> str:
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class ScanResult:
    service: str
    scanned_ref: str
    counts: dict[str, int]
    passed: bool
    summary: str
    db_version: str
    vuln_predicate: str = ""  # the scan as cosign's vuln predicate (a file), to attest


@dataclass(frozen=True)
class SbomResult:
    service: str
    path: str
    package_count: int
    sha256: str = ""  # of the SBOM document


@dataclass(frozen=True)
class SignResult:
    service: str
    ref: str
    signature: str
    attestations: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class BumpResult:
    overlay: str
    commit: str | None
    images: dict[str, str]  # kustomize image name -> repository@digest
    diff: str = ""  # the commit's patch of the overlay
