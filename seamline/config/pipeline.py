"""The pipeline config a repository keeps in its ``seamline.toml``: services and overlays.

The file comes from the repository under test, so nothing in it is trusted: names follow
their grammars (``seamline.validate.names``) and every path resolves inside the repository
(``seamline.validate.repo_paths``), or loading fails with a usage error before anything runs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seamline.bases.mapping import BaseImageMap
from seamline.errors import SeamlineError, UsageError
from seamline.overlay.files import is_kustomization_folder
from seamline.policy.allowlist import AllowList
from seamline.policy.gate import GatePolicy
from seamline.policy.source_checks import SourceChecksPolicy
from seamline.validate.names import (
    check_image_name,
    check_name,
    check_ref,
    check_registry,
    check_repository,
)
from seamline.validate.repo_paths import existing_inside, inside

CONFIG_NAME = "seamline.toml"
# Where an overlay's images may be promoted to when seamline.toml names no promotions.
DEFAULT_PROMOTIONS = {"dev": "staging", "staging": "prod"}
# The checks a repository may let through without blocking (`go build` always blocks).
OptionalCheck = Literal["vet", "lint", "test"]
_EVERY_CHECK: tuple[OptionalCheck, ...] = ("vet", "lint", "test")


def _valid(check: Callable[[str], str], value: str) -> str:
    """Turn a names check's UsageError into the ValueError pydantic reports per field."""
    try:
        return check(value)
    except SeamlineError as e:
        raise ValueError(f"{e.message} ({e.hint})") from None


class ServiceSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    context: str
    dockerfile: str = "Dockerfile"
    image: str = Field(description="the image name the kustomize manifests use")
    repository: str = Field(description="the repository in the target registry")
    # Each left out: the [pipeline] table's.
    lint_config: str | None = None
    blocking_checks: list[OptionalCheck] | None = None
    lint_new_findings_only: bool | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _valid(lambda v: check_name(v, what="service name"), value)

    @field_validator("image")
    @classmethod
    def _valid_image(cls, value: str) -> str:
        return _valid(lambda v: check_image_name(v, what="image"), value)

    @field_validator("repository")
    @classmethod
    def _valid_repository(cls, value: str) -> str:
        return _valid(check_repository, value)

    @property
    def dockerfile_path(self) -> str:
        """The Dockerfile relative to the repository root."""
        return f"{self.context.rstrip('/')}/{self.dockerfile}"


class PipelineSection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    registry: str
    overlay_root: str = "kustomize/overlays"
    default_overlay: str = "dev"
    default_branch: str = "main"
    # Which branch's pushes may bump which overlay; a push to any other branch builds and
    # scans and bumps nothing. Empty: the default branch bumps the default overlay.
    branch_overlays: dict[str, str] = Field(default_factory=dict)
    lint_config: str | None = None
    # Which checks block the build-test gate besides `go build`; a failing check left out
    # is reported without blocking.
    blocking_checks: list[OptionalCheck] = Field(default_factory=lambda: list(_EVERY_CHECK))
    # golangci-lint blocks only on findings introduced since the source commit the overlay
    # records for the image; older ones are reported.
    lint_new_findings_only: bool = False
    allowlist: str | None = None
    # Which overlay's pinned digests may be promoted into which (source -> target).
    # Empty: dev -> staging and staging -> prod.
    promotions: dict[str, str] = Field(default_factory=dict)
    # Upstream base image -> the mirror a build uses instead (seamline.bases.mapping has
    # the matching rule): `"golang:1.26.5-alpine" = "127.0.0.1:5000/mirror/golang:1.26-alpine"`.
    base_images: dict[str, str] = Field(default_factory=dict)

    @field_validator("registry")
    @classmethod
    def _valid_registry(cls, value: str) -> str:
        return _valid(check_registry, value)

    @field_validator("default_overlay")
    @classmethod
    def _valid_overlay(cls, value: str) -> str:
        return _valid(lambda v: check_name(v, what="overlay name"), value)

    @field_validator("default_branch")
    @classmethod
    def _valid_branch(cls, value: str) -> str:
        return _valid(lambda v: check_ref(v, what="branch"), value)

    @field_validator("branch_overlays")
    @classmethod
    def _valid_mapping(cls, value: dict[str, str]) -> dict[str, str]:
        for branch, overlay in value.items():
            _valid(lambda v: check_ref(v, what="branch"), branch)
            _valid(lambda v: check_name(v, what="overlay name"), overlay)
        return value

    @field_validator("promotions")
    @classmethod
    def _valid_promotions(cls, value: dict[str, str]) -> dict[str, str]:
        for source, target in value.items():
            _valid(lambda v: check_name(v, what="overlay name"), source)
            _valid(lambda v: check_name(v, what="overlay name"), target)
            if source == target:
                raise ValueError(f"{source} is promoted into itself")
        return value

    @field_validator("base_images")
    @classmethod
    def _valid_base_images(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            BaseImageMap(entries=value)
        except SeamlineError as e:
            raise ValueError(f"{e.message} ({e.hint})") from None
        return value

    def base_image_map(self) -> BaseImageMap:
        return BaseImageMap(entries=self.base_images)

    def overlay_for_branch(self, branch: str | None) -> str | None:
        """The overlay a push to ``branch`` may bump, or None: build and scan only."""
        mapping = self.branch_overlays or {self.default_branch: self.default_overlay}
        return mapping.get(branch) if branch else None


class OverlayPolicy(BaseModel):
    """An ``[overlays.<name>]`` table: the scan gate a promotion into that overlay must pass
    (stricter for prod, say). A key left out keeps the settings' value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gate_severities: list[str] | None = None
    ignore_unfixed: bool | None = None

    @field_validator("gate_severities")
    @classmethod
    def _valid_severities(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            try:
                GatePolicy.from_strings(value)
            except SeamlineError as e:
                raise ValueError(f"{e.message} ({e.hint})") from None
        return value


class PipelineConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    root: Path
    pipeline: PipelineSection
    services: list[ServiceSpec]
    overlays: dict[str, OverlayPolicy] = Field(default_factory=dict)

    @field_validator("overlays")
    @classmethod
    def _valid_overlay_names(cls, value: dict[str, OverlayPolicy]) -> dict[str, OverlayPolicy]:
        for name in value:
            _valid(lambda v: check_name(v, what="overlay name"), name)
        return value

    def promotions(self) -> dict[str, str]:
        """Source overlay -> the overlay its digests may be promoted into."""
        return dict(self.pipeline.promotions or DEFAULT_PROMOTIONS)

    def check_promotion(self, source: str, target: str) -> None:
        """Raise a usage error unless seamline.toml allows promoting ``source`` into
        ``target``."""
        allowed = self.promotions()
        if allowed.get(source) != target:
            pairs = ", ".join(f"{s} -> {t}" for s, t in sorted(allowed.items()))
            raise UsageError(
                f"promoting {source} -> {target} is not allowed (allowed: {pairs})",
                hint="promote along the configured path, or change [pipeline] promotions "
                f"in {CONFIG_NAME}",
            )

    def gate_for(
        self, overlay: str, *, severities: str, ignore_unfixed: bool, allowlist: AllowList
    ) -> GatePolicy:
        """The scan gate for images entering ``overlay``: its ``[overlays.<name>]`` table,
        falling back to the settings' gate (``severities``, ``ignore_unfixed``)."""
        policy = self.overlays.get(overlay, OverlayPolicy())
        return GatePolicy.from_strings(
            policy.gate_severities if policy.gate_severities is not None else [severities],
            ignore_unfixed=(
                policy.ignore_unfixed if policy.ignore_unfixed is not None else ignore_unfixed
            ),
            allowlist=allowlist,
        )

    def _inside(self, relative: str, what: str) -> Path:
        return inside(self.root, relative, what=what, source=CONFIG_NAME)

    def context_of(self, service: ServiceSpec) -> Path:
        return self._inside(service.context, f"services.{service.name}.context")

    def dockerfile_of(self, service: ServiceSpec) -> Path:
        return self._inside(service.dockerfile_path, f"services.{service.name}.dockerfile")

    def lint_config_path(self, service: ServiceSpec) -> Path | None:
        """The service's golangci-lint config: its own, else the repository's, else none
        (golangci-lint then looks for one in the service's folder and above it)."""
        if service.lint_config:
            return self._inside(service.lint_config, f"services.{service.name}.lint_config")
        lint = self.pipeline.lint_config
        return self._inside(lint, "pipeline.lint_config") if lint else None

    def checks_policy(self, service: ServiceSpec) -> SourceChecksPolicy:
        """Which of the service's checks block, and how lint findings count: its own
        settings, else the [pipeline] table's."""
        section = self.pipeline
        blocking = (
            service.blocking_checks
            if service.blocking_checks is not None
            else section.blocking_checks
        )
        new_only = service.lint_new_findings_only
        return SourceChecksPolicy(
            blocking=frozenset(blocking),
            lint_new_only=section.lint_new_findings_only if new_only is None else new_only,
        )

    def allowlist_path(self) -> Path | None:
        listed = self.pipeline.allowlist
        return self._inside(listed, "pipeline.allowlist") if listed else None

    def overlay(self, name: str) -> Path:
        return self.overlay_in(self.root, name)

    def overlay_in(self, checkout: Path, name: str) -> Path:
        """Overlay ``name`` in ``checkout`` (this repository or the GitOps repository):
        ``overlay_root/name``, or ``overlay_root`` itself when that folder is a single
        kustomization (then its one overlay is called ``default_overlay``)."""
        check_name(name, what="overlay")
        root = self.overlay_root_in(checkout)
        if not is_kustomization_folder(root):
            return inside(
                checkout,
                f"{self.pipeline.overlay_root.rstrip('/')}/{name}",
                what="pipeline.overlay_root",
                source=CONFIG_NAME,
            )
        if name != self.pipeline.default_overlay:
            raise UsageError(
                f"overlay_root {self.pipeline.overlay_root!r} is a single kustomization: its "
                f"one overlay is {self.pipeline.default_overlay!r}, not {name!r}",
                hint="use that overlay name, or put overlays in folders under overlay_root",
            )
        return root

    def overlay_root_in(self, checkout: Path) -> Path:
        return inside(
            checkout, self.pipeline.overlay_root, what="pipeline.overlay_root", source=CONFIG_NAME
        )

    def overlay_folders(self, checkout: Path) -> dict[str, Path]:
        """Every overlay in ``checkout`` by name: the folders under ``overlay_root`` that
        hold a kustomization (or ``overlay_root`` itself, when it is one)."""
        root = self.overlay_root_in(checkout)
        if is_kustomization_folder(root):
            return {self.pipeline.default_overlay: root}
        if not root.is_dir():
            return {}
        return {
            p.name: p
            for p in sorted(root.iterdir())
            if p.is_dir() and not p.is_symlink() and is_kustomization_folder(p)
        }

    def target_repository(self, service: ServiceSpec) -> str:
        return f"{self.pipeline.registry}/{service.repository}"


def load_pipeline_config(root: Path) -> PipelineConfig:
    """Read and check ``<root>/seamline.toml``; every problem names the file and the fix."""
    root = root.resolve()
    path = root / CONFIG_NAME
    if not path.exists() and not path.is_symlink():
        raise UsageError(
            f"{path} not found", hint=f"add a {CONFIG_NAME} (see examples/bookstore/{CONFIG_NAME})"
        )
    existing_inside(root, CONFIG_NAME, what="the config file", source=CONFIG_NAME)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path} is not valid TOML: {e}", hint="fix the syntax") from e
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text", hint="save it as UTF-8") from e
    try:
        config = PipelineConfig.model_validate({**data, "root": root})
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise UsageError(f"{path}: {problems}", hint="see examples/bookstore/seamline.toml") from e
    _check_consistency(config, path)
    return config


def _check_consistency(config: PipelineConfig, path: Path) -> None:
    if not config.services:
        raise UsageError(f"{path}: no [[services]] listed", hint="add one [[services]] per image")
    names = [s.name for s in config.services]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(f"{path}: service names repeat: {', '.join(duplicates)}")
    images = [s.image for s in config.services]
    repeated = sorted({i for i in images if images.count(i) > 1})
    if repeated:
        raise UsageError(
            f"{path}: image names repeat: {', '.join(repeated)}",
            hint="each service pins its own image in the overlay",
        )
    for service in config.services:
        prefix = f"services.{service.name}"
        existing_inside(
            config.root,
            service.context,
            what=f"{prefix}.context",
            source=CONFIG_NAME,
            folder=True,
        )
        existing_inside(
            config.root, service.dockerfile_path, what=f"{prefix}.dockerfile", source=CONFIG_NAME
        )
        if service.lint_config:
            existing_inside(
                config.root, service.lint_config, what=f"{prefix}.lint_config", source=CONFIG_NAME
            )
    section = config.pipeline
    for what, value in (("lint_config", section.lint_config), ("allowlist", section.allowlist)):
        if value:
            existing_inside(config.root, value, what=f"pipeline.{what}", source=CONFIG_NAME)
    inside(config.root, section.overlay_root, what="pipeline.overlay_root", source=CONFIG_NAME)
