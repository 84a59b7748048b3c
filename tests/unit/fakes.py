"""Fakes behind the tool roles (``seamline.adapters.roles``), fed recorded real output."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from seamline.adapters.roles import ImageScan, Sbom, Statement
from seamline.adapters.syft import read_spdx
from seamline.adapters.trivy import read_scan
from seamline.errors import PushRejected
from seamline.policy.overlay_moves import Relation
from seamline.policy.vuln_scan import VULN_PREDICATE_TYPE

DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass
class FakeBuilder:
    image_id: str = "sha256:" + "4" * 64
    digest: str = "sha256:" + "5" * 64
    builds: list[dict[str, object]] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    pushes: bool = False  # True: builds like BuildKit, pushing as it builds
    sets_platform_args: bool = False  # True: a frontend with automatic platform ARGs
    buildkit_frontend: bool = False  # True: BuildKit's built-in Dockerfile frontend
    held: set[str] = field(default_factory=set)

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
        self.builds.append(
            {
                "context": context,
                "dockerfile": dockerfile,
                "text": Path(dockerfile).read_text(),
                "tag": tag,
                "args": build_args,
                "labels": labels,
                "epoch": source_date_epoch,
                "layout": layout,
                "fresh_stage": fresh_stage,
            }
        )
        if layout is not None:
            layout.mkdir(parents=True, exist_ok=True)
            return self.digest
        if self.pushes:
            self.pushed.append(tag)
            return self.digest
        return self.image_id

    def has_image(self, reference: str) -> bool:
        return reference in self.held

    def platform(self) -> dict[str, str]:
        return {"BUILDPLATFORM": "linux/amd64", "TARGETPLATFORM": "linux/amd64"}

    def push(self, reference: str) -> str:
        self.pushed.append(reference)
        return self.digest

    def close(self) -> None:
        pass


@dataclass
class FakeRegistry:
    held: dict[tuple[str, str], str]

    def manifest_digest(self, name: str, reference: str) -> str | None:
        return self.held.get((name, reference))

    def close(self) -> None:
        pass


@dataclass
class RecordedScanner:
    """Answers every scan with one recorded ``trivy image --format cosign-vuln`` output."""

    recording: str
    scanned: list[tuple[str, bool]] = field(default_factory=list)
    layouts: list[Path | None] = field(default_factory=list)

    def scan_image(
        self,
        reference: str,
        *,
        severities: Sequence[str],
        local: bool = False,
        layout: Path | None = None,
    ) -> ImageScan:
        self.scanned.append((reference, local))
        self.layouts.append(layout)
        return read_scan((DATA / "trivy" / self.recording).read_text(), reference)


@dataclass
class RecordedSbomGenerator:
    recording: str = "image-encoder-v1.57.1.spdx.json"

    def sbom(self, reference: str) -> Sbom:
        return read_spdx((DATA / "syft" / self.recording).read_text(), reference)


# The predicate types cosign's --type names stand for.
PREDICATE_TYPES = {
    "vuln": VULN_PREDICATE_TYPE,
    "slsaprovenance1": "https://slsa.dev/provenance/v1",
    "spdxjson": "https://spdx.dev/Document",
}


@dataclass
class FakeSigner:
    """Remembers what it signed and attested; verifies exactly that. ``statements`` holds
    the attested predicates (a test may add recorded ones)."""

    signed: set[str] = field(default_factory=set)
    attested: list[tuple[str, str]] = field(default_factory=list)
    statements: list[tuple[str, Statement]] = field(default_factory=list)

    @property
    def identity(self) -> str:
        return "key:fake"

    def is_signed(self, reference: str) -> bool:
        return reference in self.signed

    def sign(self, reference: str) -> None:
        self.signed.add(reference)

    def attest(
        self, reference: str, *, predicate: Path, predicate_type: str, replace: bool = False
    ) -> None:
        assert predicate.is_file()
        kind = PREDICATE_TYPES[predicate_type]
        if replace:
            self.attested = [a for a in self.attested if a != (reference, predicate_type)]
            self.statements = [
                (ref, s)
                for ref, s in self.statements
                if (ref, s.predicate_type) != (reference, kind)
            ]
        self.attested.append((reference, predicate_type))
        digest = reference.partition("@")[2]
        statement = Statement(kind, (digest,), json.loads(predicate.read_text()))
        self.statements.append((reference, statement))

    def verify(self, reference: str) -> tuple[str, ...]:
        return (reference.partition("@")[2],) if reference in self.signed else ()

    def verify_attestation(self, reference: str, *, predicate_type: str) -> int:
        return self.attested.count((reference, predicate_type))

    def verified_statements(self, reference: str, *, predicate_type: str) -> tuple[Statement, ...]:
        kind = PREDICATE_TYPES[predicate_type]
        return tuple(
            s for ref, s in self.statements if ref == reference and s.predicate_type == kind
        )

    def signature_ref(self, reference: str) -> str:
        return reference.replace("@sha256:", ":sha256-") + ".sig"

    def attestation_ref(self, reference: str) -> str:
        return reference.replace("@sha256:", ":sha256-") + ".att"


@dataclass
class RecordedEditor:
    """Records the image edits; renders a recorded ``kustomize build``."""

    recording: str
    edits: list[dict[str, str]] = field(default_factory=list)

    def set_images(self, overlay: Path, references: Mapping[str, str]) -> None:
        self.edits.append(dict(references))

    def build(self, overlay: Path) -> str:
        return (DATA / "kustomize" / self.recording).read_text()


@dataclass
class KustomizationEditor(RecordedEditor):
    """Writes the ``images:`` entries as ``kustomize edit set image name=new@digest``
    does; renders a recorded ``kustomize build``."""

    def set_images(self, overlay: Path, references: Mapping[str, str]) -> None:
        super().set_images(overlay, references)
        path = overlay / "kustomization.yaml"
        data = yaml.safe_load(path.read_text())
        entries = {entry["name"]: entry for entry in data.get("images", [])}
        for name, reference in references.items():
            new_name, _, digest = reference.partition("@")
            entries[name] = {"name": name, "newName": new_name, "digest": digest}
        data["images"] = list(entries.values())
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@dataclass
class WorkTreeClone:
    """A clone that commits only when its tree differs, and whose push replaces the
    remote's folder: what one run pushes, the next clone sees."""

    path: Path
    remote: WorkTreeRemote
    head: str

    def commit_all(self, message: str) -> str | None:
        if _tree(self.path) == _tree(self.remote.source):
            return None
        self.remote.commits.append(message)
        self.head = f"{len(self.remote.commits):040x}"
        return self.head

    def push(self, *, branch: str | None = None) -> None:
        if self.remote.rejections:
            self.remote.rejections -= 1
            raise PushRejected("the remote moved on")
        if branch is not None and branch != self.remote.branch:  # a new branch: kept aside
            kept = self.remote.source.with_name(
                f"{self.remote.source.name}@{len(self.remote.branches)}"
            )
            shutil.copytree(self.path, kept)
            self.remote.branches[branch] = kept
            self.remote.pushed.append(self.remote.commits[-1])
            return
        shutil.rmtree(self.remote.source)
        shutil.copytree(self.path, self.remote.source)
        self.remote.pushed.append(self.remote.commits[-1])
        self.remote.head = self.head

    def last_diff(self) -> str:
        return f"patch of commit {len(self.remote.commits)}"


@dataclass
class WorkTreeRemote:
    """A GitOps remote kept as one folder (a copy the test owns)."""

    source: Path
    url: str = "file:///gitops.git"
    branch: str = "main"
    rejections: int = 0
    head: str = "e" * 40
    commits: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    branches: dict[str, Path] = field(default_factory=dict)  # other branches' trees

    def clone(self, dest: Path) -> WorkTreeClone:
        shutil.copytree(self.source, dest)
        return WorkTreeClone(dest, self, self.head)


@dataclass
class FolderClone:
    path: Path
    remote: FolderRemote

    @property
    def head(self) -> str:
        return f"{len(self.remote.commits) + 1:040x}"

    def commit_all(self, message: str) -> str | None:
        self.remote.commits.append(message)
        return f"{len(self.remote.commits):040x}"

    def push(self, *, branch: str | None = None) -> None:
        if self.remote.rejections:
            self.remote.rejections -= 1
            raise PushRejected("the remote moved on")
        self.remote.pushed.append(self.remote.commits[-1])

    def last_diff(self) -> str:
        return f"patch of commit {len(self.remote.commits)}"


@dataclass
class FolderRemote:
    """A GitOps remote whose every clone is a copy of one folder."""

    source: Path
    url: str = "file:///gitops.git"
    branch: str = "main"
    rejections: int = 0
    commits: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)

    def clone(self, dest: Path) -> FolderClone:
        shutil.copytree(self.source, dest)
        return FolderClone(dest, self)


@dataclass
class LinearHistory:
    """Every older commit is an ancestor of every newer one."""

    def relation(self, older: str, newer: str) -> Relation:
        return "same" if older == newer else "ancestor"

    def default_branch_file(self, path: str) -> tuple[str, str | None]:
        return "main", None

    def folder_diff(self, older: str, newer: str, folder: str) -> str | None:
        return ""  # nothing changed

    def fork_point(self, commit: str) -> str | None:
        return None  # every commit is on the default branch
