"""The roles external tools play for the pipeline, as small Protocols, and what they return.

Tasks depend on these, never on a concrete adapter: Trivy is one ``Scanner``, cosign one
``Signer``, and a test puts a fake behind the same role, fed real recorded tool output.
Every role hands back parsed, typed results; no tool's raw JSON or SDK object crosses a
seam. The toolbox (``seamline.adapters.toolbox``) builds each role's adapter from settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from seamline.policy.findings import ScanReport
from seamline.policy.overlay_moves import Relation


class ImageBuilder(Protocol):
    """Builds images from a Dockerfile and pushes them to their registry.

    A builder that ``pushes`` as it builds (BuildKit) returns the pushed manifest digest
    from ``build``, and its ``push`` only reads back what the registry holds; given an OCI
    layout folder it writes the image there instead and pushes nothing."""

    @property
    def pushes(self) -> bool: ...

    @property
    def sets_platform_args(self) -> bool:
        """Whether the builder's Dockerfile frontend sets the automatic platform arguments
        itself (BuildKit): the build copy then leaves ``--platform=$BUILDPLATFORM`` as
        written; the classic builder needs it resolved."""
        ...

    @property
    def buildkit_frontend(self) -> bool:
        """Whether it builds with BuildKit's built-in Dockerfile frontend: cache mounts and
        the other BuildKit-only instructions build, and a ``# syntax=`` naming Docker's
        own frontend is taken out of the build copy rather than pulled."""
        ...

    def build(
        self,
        *,
        context: Path,
        dockerfile: str,
        tag: str,
        build_args: dict[str, str],
        labels: dict[str, str] | None = None,
        source_date_epoch: int = 0,
        layout: Path | None = None,
        fresh_stage: str = "",
    ) -> str:
        """Build ``tag`` and return the image id (the manifest digest when ``pushes``);
        ``source_date_epoch`` is the time a reproducible builder stamps everywhere.
        ``dockerfile`` may lie outside ``context`` (seamline's build copy of the
        repository's Dockerfile). ``layout``, for a builder that ``pushes`` only: the OCI
        layout folder to write the image to instead of pushing it. ``fresh_stage``: a
        stage a reproducible builder builds without its cache (the classic builder, which
        is not reproducible, ignores it)."""
        ...

    def has_image(self, reference: str) -> bool:
        """Whether the builder holds ``reference`` already (a build then pulls nothing)."""
        ...

    def platform(self) -> dict[str, str]:
        """The automatic platform arguments of the builder's own platform
        (``BUILDPLATFORM``, ``TARGETOS``, ...): the only platform it builds for."""
        ...

    def push(self, reference: str) -> str:
        """Push ``reference`` and return the digest the registry reported."""
        ...

    def close(self) -> None: ...


class LayoutBuilder(Protocol):
    """A reproducible builder that can write an image to an OCI layout folder, pushing
    nothing (BuildKit): what a rebuild to compare with a released digest needs."""

    @property
    def sets_platform_args(self) -> bool: ...

    def platform(self) -> dict[str, str]: ...

    def build_layout(
        self,
        *,
        context: Path,
        dockerfile: str,
        layout: Path,
        build_args: dict[str, str],
        labels: dict[str, str],
        source_date_epoch: int,
    ) -> str:
        """Build into ``layout``; the manifest digest."""
        ...


class ImageRegistry(Protocol):
    """Reads what a registry holds."""

    def manifest_digest(self, name: str, reference: str) -> str | None:
        """The digest of ``name:reference`` (a tag or a digest), None when absent."""
        ...

    def manifest(self, name: str, reference: str) -> dict[str, Any] | None:
        """The manifest of ``name:reference`` as decoded JSON, None when absent."""
        ...

    def blob(self, name: str, digest: str) -> bytes:
        """The blob ``digest`` of ``name`` (a config or a layer)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ImageScan:
    """A scanner's findings, its report (kept as evidence), and the same scan as cosign's
    vuln predicate (``seamline.policy.vuln_scan``), ready to attest on the digest."""

    report: ScanReport
    document: str
    predicate: str


class Scanner(Protocol):
    def scan_image(
        self,
        reference: str,
        *,
        severities: Sequence[str],
        local: bool = False,
        layout: Path | None = None,
    ) -> ImageScan:
        """Scan ``reference`` from its registry, from the local engine when ``local``, or
        from the OCI layout folder ``layout`` (``reference`` then only names it in the
        report). Findings decide nothing here: the gate reads them."""
        ...


@dataclass(frozen=True)
class Sbom:
    """An SBOM document as the generator wrote it, with what a reviewer counts."""

    document: str
    format: str  # e.g. "spdx-json"
    package_count: int


class SbomGenerator(Protocol):
    def sbom(self, reference: str) -> Sbom:
        """The SBOM of the image ``reference`` names; raises ToolFailed when it lists
        no packages."""
        ...


@dataclass(frozen=True)
class Statement:
    """An in-toto statement whose attestation verified: its type, the digests it is
    about, and its predicate as decoded JSON."""

    predicate_type: str
    subjects: tuple[str, ...]  # "sha256:…"
    predicate: dict[str, Any]


class Signer(Protocol):
    """Signs and attests image digests and verifies both."""

    @property
    def identity(self) -> str:
        """Who signs: part of the signing cache key."""
        ...

    def is_signed(self, reference: str) -> bool: ...

    def sign(self, reference: str) -> None: ...

    def attest(
        self, reference: str, *, predicate: Path, predicate_type: str, replace: bool = False
    ) -> None:
        """Attest ``predicate`` on ``reference``; ``replace`` drops the digest's earlier
        attestations of the same type (the others stay)."""
        ...

    def verify(self, reference: str) -> tuple[str, ...]:
        """The manifest digests the verified signatures cover; raises ToolFailed when
        none verifies."""
        ...

    def verify_attestation(self, reference: str, *, predicate_type: str) -> int:
        """How many attestations of ``predicate_type`` verify; raises ToolFailed on none."""
        ...

    def verified_statements(self, reference: str, *, predicate_type: str) -> tuple[Statement, ...]:
        """The statements of every attestation of ``predicate_type`` on ``reference`` that
        verifies by the expected identity; empty when none does (absent, or signed by
        someone else). Raises ToolFailed when the registry cannot be read."""
        ...

    def signature_ref(self, reference: str) -> str:
        """Where the signature of ``reference`` is stored."""
        ...

    def attestation_ref(self, reference: str) -> str:
        """Where the attestations of ``reference`` are stored."""
        ...


class ManifestEditor(Protocol):
    """Edits the images an overlay pins and renders the overlay."""

    def set_images(self, overlay: Path, references: Mapping[str, str]) -> None: ...

    def build(self, overlay: Path) -> str:
        """The rendered manifests; raises ToolFailed when the overlay does not render."""
        ...


class GitOpsClone(Protocol):
    """A working clone of the GitOps repository's branch."""

    @property
    def path(self) -> Path: ...

    @property
    def head(self) -> str:
        """The commit the clone's work tree is at."""
        ...

    def commit_all(self, message: str) -> str | None:
        """Commit every change; the new commit id, None when nothing changed."""
        ...

    def push(self, *, branch: str | None = None) -> None:
        """Push to the clone's branch, or to a new ``branch``; raises ``PushRejected``
        when the remote moved on."""
        ...

    def last_diff(self) -> str:
        """The patch of the last commit (what a reviewer of the bump reads)."""
        ...


class GitOpsRemote(Protocol):
    """The repository and branch the overlay bumps are pushed to."""

    @property
    def url(self) -> str: ...

    @property
    def branch(self) -> str: ...

    def clone(self, dest: Path) -> GitOpsClone: ...


@dataclass(frozen=True)
class PullRequestDraft:
    """A pull request as seamline asks for it: merge ``head`` into ``base``."""

    title: str
    head: str
    base: str
    body: str


@dataclass(frozen=True)
class OpenedPullRequest:
    number: int
    url: str  # the page a reviewer opens
    existed: bool  # one was already open for the head branch: that one is reported


class PullRequests(Protocol):
    """The forge hosting the GitOps repository, as far as opening pull requests goes."""

    def open(self, draft: PullRequestDraft) -> OpenedPullRequest:
        """Open ``draft``, or find the pull request already open for its head; raises
        ``ForgeFailed`` (transient on 5xx and network faults)."""
        ...

    def close(self) -> None: ...


class SourceHistory(Protocol):
    """The history of the checked-out source repository."""

    def relation(self, older: str, newer: str) -> Relation:
        """How commit ``older`` relates to ``newer``."""
        ...

    def default_branch_file(self, path: str) -> tuple[str, str | None]:
        """The default branch's name and the text of ``path`` at its tip (None: absent)."""
        ...

    def folder_diff(self, older: str, newer: str, folder: str) -> str | None:
        """The unified diff of ``folder`` between two commits, paths relative to it; None
        when ``older`` is not in the history."""
        ...

    def fork_point(self, commit: str) -> str | None:
        """Where ``commit`` left the default branch; None when it is on it."""
        ...


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    healthy: bool
    detail: str
    hint: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class HealthCheck(Protocol):
    """Something the pipeline relies on, reporting whether it is there."""

    name: str

    def status(self) -> ComponentStatus:
        """Look, change nothing."""
        ...
