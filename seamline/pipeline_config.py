"""The pipeline config a repository keeps in its ``seamline.toml``: services and overlays."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seamline.errors import UsageError

CONFIG_NAME = "seamline.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ServiceSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    context: str
    dockerfile: str = "Dockerfile"
    image: str = Field(description="the image name the kustomize manifests use")
    repository: str = Field(description="the repository in the target registry")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use lowercase letters, digits and dashes")
        return value


class PipelineSection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    registry: str
    overlay_root: str = "kustomize/overlays"
    default_overlay: str = "dev"
    lint_config: str | None = None
    allowlist: str | None = None


class PipelineConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    root: Path
    pipeline: PipelineSection
    services: list[ServiceSpec]

    def context_of(self, service: ServiceSpec) -> Path:
        return self.root / service.context

    def dockerfile_of(self, service: ServiceSpec) -> Path:
        return self.context_of(service) / service.dockerfile

    def overlay(self, name: str) -> Path:
        return self.root / self.pipeline.overlay_root / name

    def target_repository(self, service: ServiceSpec) -> str:
        return f"{self.pipeline.registry}/{service.repository}"


def load_pipeline_config(root: Path) -> PipelineConfig:
    """Read and check ``<root>/seamline.toml``; every problem names the file and the fix."""
    path = root / CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as e:
        raise UsageError(
            f"{path} not found", hint=f"add a {CONFIG_NAME} (see examples/bookstore/{CONFIG_NAME})"
        ) from e
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path} is not valid TOML: {e}", hint="fix the syntax") from e
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
    for service in config.services:
        if not config.dockerfile_of(service).is_file():
            raise UsageError(
                f"{path}: service {service.name}: {config.dockerfile_of(service)} does not exist",
                hint="fix its context/dockerfile paths (relative to seamline.toml)",
            )
    overlay = config.overlay(config.pipeline.default_overlay)
    if not (overlay / "kustomization.yaml").is_file():
        raise UsageError(
            f"{path}: default overlay {overlay} has no kustomization.yaml",
            hint="fix pipeline.overlay_root / default_overlay",
        )
