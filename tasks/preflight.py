"""Stage preflight, first after checkout: everything a run will need, checked before
anything is built, pushed or signed.

It reads the repository's config (names and paths), decides what the run may release
(which overlay a push to this branch may bump; nothing for pull requests and other
branches), proves that the overlay exists in the GitOps repository and renders every
configured image, refuses a run that could only move the overlay backwards, and resolves
the inputs of every cache key once (``RunInputs``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.git_repo import clone, relation
from seamline.adapters.registry import RegistryClient, split_reference
from seamline.content_hash import tree_hash, value_hash
from seamline.errors import GateFailure, ToolFailed, UsageError
from seamline.names import check_name
from seamline.overlay_edit import set_and_render
from seamline.overlay_files import current_images, kustomization_of, read_pins
from seamline.pipeline_config import PipelineConfig, load_pipeline_config
from seamline.policy.allowlist import load_allowlist
from seamline.policy.overlay_moves import Pin, Relation
from seamline.results import Event, Workspace
from seamline.run_inputs import RunInputs
from seamline.settings import Settings
from seamline.stack.base_images import builder_tag
from seamline.toolbox import Toolbox
from seamline.toolchain import read_pins as read_tool_pins
from tasks.retry_policy import transient_only


@dataclass(frozen=True)
class RunPlan:
    config: PipelineConfig
    overlay: str | None  # what this run may bump; None: build and scan only
    inputs: RunInputs
    overlay_baseline: dict[str, str] = field(default_factory=dict)  # image -> reference


def decide_overlay(
    config: PipelineConfig, event: Event, branch: str | None, requested: str
) -> str | None:
    """The overlay a run may bump: only a push to a branch that ``branch_overlays`` maps,
    and only the overlay it maps that branch to."""
    if requested:
        check_name(requested, what="overlay")
    if event == "pull_request":
        return None
    mapped = config.pipeline.overlay_for_branch(branch)
    if requested and requested != mapped:
        allowed = f"may bump only {mapped!r}" if mapped else "may bump no overlay"
        raise UsageError(
            f"a push to {branch or 'a commit outside any branch'!r} {allowed}; "
            f"--overlay {requested} refused",
            hint="which branch bumps which overlay is pipeline.branch_overlays in seamline.toml",
        )
    return mapped


def _probe_digest(image: str) -> str:
    return "sha256:" + hashlib.sha256(f"seamline-preflight:{image}".encode()).hexdigest()


def check_overlay(
    settings: Settings,
    config: PipelineConfig,
    overlay: str,
    workspace: Workspace,
    *,
    force: bool,
) -> dict[str, str]:
    """The overlay exists in the GitOps repository, inside it, renders, and uses every
    configured image; and the run is not older than every build it already pins. Returns
    the overlay's image references as found."""
    remote = settings.default_gitops_remote()
    tools = Toolbox(settings)
    with tempfile.TemporaryDirectory(prefix="seamline-preflight-") as tmp:
        work = Path(tmp) / "gitops"
        clone(remote, work, branch=settings.gitops_branch)
        folder = config.overlay_in(work, overlay)
        if not folder.is_dir():
            raise UsageError(
                f"overlay {overlay!r} does not exist in {remote} "
                f"({config.pipeline.overlay_root}/{overlay})",
                hint="pass an overlay that exists under pipeline.overlay_root, or create it",
            )
        kustomization_of(folder)
        current = current_images(folder)
        pins, _notes = read_pins(folder)
        probes = {
            s.image: f"{config.target_repository(s)}@{_probe_digest(s.image)}"
            for s in config.services
        }
        try:
            set_and_render(tools.kustomize(), folder, probes)
        except ToolFailed as e:  # kustomize said no: the overlay's content, not the machine
            raise UsageError(
                f"overlay {overlay!r} in {remote} does not take an image edit and render: "
                f"{e.message}",
                hint=f"fix {config.pipeline.overlay_root}/{overlay}/kustomization.yaml "
                "until `kustomize build` renders it",
            ) from e
    _refuse_backwards(config, current, pins, workspace, force=force)
    return current


def _refuse_backwards(
    config: PipelineConfig,
    current: dict[str, str],
    pins: dict[str, Pin],
    workspace: Workspace,
    *,
    force: bool,
) -> None:
    """Before building: a run from unrelated history, or older than the build the overlay
    pins for every one of its images, could only be refused at the bump."""
    if force:
        return
    relations: dict[str, Relation] = {}
    for service in config.services:
        pin = pins.get(service.image)
        if pin is None or pin.reference != current.get(service.image):
            return  # an image with no valid record may always be written
        relations[service.image] = relation(
            Path(workspace.path), pin.source_commit, workspace.commit
        )
    unrelated = sorted(i for i, r in relations.items() if r == "unrelated")
    if unrelated:
        raise GateFailure(
            f"the overlay pins builds from history unrelated to {workspace.commit[:12]} "
            f"({', '.join(unrelated)})",
            hint="a force-push or another repository? rerun with --force to move them anyway",
        )
    if relations and all(r == "descendant" for r in relations.values()):
        raise GateFailure(
            f"stale run: the overlay already pins builds of commits newer than "
            f"{workspace.commit[:12]} for every image",
            hint="nothing to do; to roll back on purpose, revert the overlay in Git "
            "or rerun with --force",
        )


def resolve_inputs(settings: Settings, config: PipelineConfig, *, releases: bool) -> RunInputs:
    """Releasing runs are the trusted ones: pushes to a branch that bumps an overlay."""
    tools = Toolbox(settings)
    build_args = {
        "GO_BUILDER_IMAGE": settings.go_builder(builder_tag(settings)),
        "RUNTIME_IMAGE": settings.runtime(),
    }
    registry = tools.registry()
    try:
        bases = {ref: _digest_of(registry, settings, ref) for ref in set(build_args.values())}
        trivy_db = (
            _digest_of(registry, settings, settings.trivy_db())
            if settings.trivy_db().startswith(settings.registry + "/")
            else settings.trivy_db()
        )
    finally:
        registry.close()
    lint = config.lint_config_path()
    allowlist = config.allowlist_path()
    if allowlist is not None:
        load_allowlist(allowlist)  # a broken allow-list is a usage error now, not at the scan
    return RunInputs(
        tool_versions={p.name: p.version for p in read_tool_pins(settings.toolchain_file)},
        sources={
            s.name: value_hash(tree_hash(config.context_of(s)), config.dockerfile_of(s).read_text())
            for s in config.services
        },
        lint_config=hashlib.sha256(lint.read_bytes()).hexdigest() if lint else "",
        build_args=build_args,
        base_images=bases,
        trivy_db=trivy_db,
        gate=value_hash(
            settings.gate_severities,
            settings.ignore_unfixed,
            allowlist.read_text() if allowlist else "",
        ),
        today=dt.date.today().isoformat(),
        trust="trusted" if releases else "untrusted",
        signer=tools.cosign().identity if releases else "",
        sandbox_image=bases.get(build_args["GO_BUILDER_IMAGE"], ""),
    )


def _digest_of(registry: RegistryClient, settings: Settings, reference: str) -> str:
    """A base image's digest in the target registry; "" for an upstream reference the
    daemon resolves itself."""
    if not reference.startswith(settings.registry + "/"):
        return ""
    digest = registry.manifest_digest(*split_reference(reference, settings.registry))
    if digest is None:
        raise UsageError(
            f"{reference} is not in the registry", hint="run `seamline stack up` to mirror it"
        )
    return str(digest)


@task(name="preflight", retries=2, retry_delay_seconds=3, retry_condition_fn=transient_only)
def preflight(
    settings: Settings,
    workspace: Workspace,
    event: Event,
    requested_overlay: str,
    force: bool,
) -> RunPlan:
    config = load_pipeline_config(Path(workspace.path))
    overlay = decide_overlay(config, event, workspace.branch, requested_overlay)
    baseline: dict[str, str] = {}
    if overlay is not None:
        baseline = check_overlay(settings, config, overlay, workspace, force=force)
    elif event == "push":
        get_run_logger().info(
            "branch %s bumps no overlay (pipeline.branch_overlays): build and scan only",
            workspace.branch or "(none)",
        )
    inputs = resolve_inputs(settings, config, releases=overlay is not None)
    return RunPlan(config=config, overlay=overlay, inputs=inputs, overlay_baseline=baseline)
