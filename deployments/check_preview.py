"""`seamline check`'s preview, from the preflight's own checks: the config as the run
loads it, the overlay the branch maps to as the run decides it, the overlay's trial image
edit and render, and the Dockerfile rules, with nothing built, pushed or committed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from seamline.adapters.git_repo import IGNORED, current_branch
from seamline.adapters.toolbox import Toolbox
from seamline.bases.rewrite import BuildCopy
from seamline.config.pipeline import PipelineConfig, load_pipeline_config
from seamline.config.settings import Settings
from seamline.errors import UsageError
from seamline.onboard.preview import RunPreview, ServicePreview
from seamline.policy.bases import check_bases
from seamline.validate.names import check_ref
from tasks.preflight import (
    build_copies,
    classic_builder_problems,
    decide_overlay,
    dockerfile_problems,
    overlay_takes_images,
)
from tasks.scan import repository_gate


def _render_overlay(
    settings: Settings, config: PipelineConfig, root: Path, overlay: str
) -> tuple[str, dict[str, str]]:
    """Where ``overlay`` was checked, and its pins; the trial edit runs on a copy."""
    folder = config.overlay_in(root, overlay)
    if not folder.is_dir():
        return (
            f"{overlay} is not in this repository: a run checks it in the GitOps repository "
            f"({settings.default_gitops_remote()})",
            {},
        )
    where = folder.relative_to(root).as_posix() or "."
    with tempfile.TemporaryDirectory(prefix="seamline-check-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(root, copy, symlinks=True, ignore=IGNORED)
        pins = overlay_takes_images(
            Toolbox(settings).manifest_editor(),
            config,
            config.overlay_in(copy, overlay),
            label=f"overlay {overlay!r} ({where})",
        )
    return f"{overlay} ({where}) takes every configured image and renders", pins


def _checks(config: PipelineConfig, settings: Settings, overlay: str | None) -> list[str]:
    gate = repository_gate(settings, config)
    lint = config.pipeline.lint_config or "golangci-lint's defaults"
    scan = f"trivy gate ({', '.join(sorted(gate.severities))}"
    scan += ", unfixed ignored)" if gate.ignore_unfixed else ")"
    if gate.allowlist.entries:
        scan += f" with {len(gate.allowlist.entries)} allow-list entries"
    checks = ["go build", "go vet", f"golangci-lint ({lint})", "go test", "image build", scan]
    if overlay:
        checks += [
            "push",
            "SBOM",
            "signature",
            "provenance and SBOM attestations",
            f"bump {overlay}",
        ]
    return checks


def _base_problems(
    settings: Settings,
    config: PipelineConfig,
    copies: dict[str, BuildCopy],
    build_args: dict[str, str],
) -> list[str]:
    """The preflight's base-image refusal, without asking the image builder (a check needs
    no stack): an image already on the builder would still pass the run."""
    try:
        check_bases(
            copies,
            provided=set(build_args.values()),
            registries={settings.registry, config.pipeline.registry},
            held=lambda _reference: False,
            mirror_registry=settings.registry,
        )
    except UsageError as e:
        return [f"the preflight would refuse {e.message}, unless the builder holds them: {e.hint}"]
    return []


def preview_run(settings: Settings, root: Path, *, branch: str) -> RunPreview:
    """What a push of the working tree at ``root`` would do; a UsageError for a bad
    config or an overlay that would refuse the run."""
    config = load_pipeline_config(root)
    branch_name = check_ref(branch, what="branch") if branch else current_branch(root)
    overlay = decide_overlay(config, "push", branch_name, "")
    shown = overlay or config.pipeline.default_overlay
    checked, pins = _render_overlay(settings, config, config.root, shown)
    build_args = Toolbox(settings).base_images()
    buildkit = settings.image_builder == "buildkit"
    copies = build_copies(config, build_args, buildkit=buildkit)
    warnings = dockerfile_problems(config, copies, build_args, settings)
    if not buildkit:
        warnings += [
            f"{p}: only BuildKit builds it (set SEAMLINE_IMAGE_BUILDER=buildkit)"
            for p in classic_builder_problems(config, copies)
        ]
    warnings = [f"the preflight would refuse the Dockerfile of {p}" for p in warnings]
    warnings += _base_problems(settings, config, copies, build_args)
    if overlay is None:
        warnings.append(
            f"branch {branch_name or '(none)'} bumps no overlay (pipeline.branch_overlays): "
            f"shown is {shown}, the default overlay"
        )
    return RunPreview(
        repo=str(config.root),
        branch=branch_name,
        overlay=overlay,
        overlay_checked=checked,
        services=tuple(
            ServicePreview(
                name=s.name,
                context=s.context,
                dockerfile=s.dockerfile_path,
                image=s.image,
                target=config.target_repository(s),
                overlay_pin=pins.get(s.image),
            )
            for s in config.services
        ),
        checks=tuple(_checks(config, settings, overlay)),
        warnings=tuple(warnings),
    )
