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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger
from pydantic import ValidationError

from seamline.adapters.registry import RegistryClient
from seamline.adapters.roles import ImageBuilder, ManifestEditor, SourceHistory
from seamline.adapters.toolbox import Toolbox
from seamline.bases.cache_mounts import refuse
from seamline.bases.rewrite import BuildCopy, build_copy
from seamline.cache.content_hash import tree_hash, value_hash
from seamline.config.check_rules import (
    default_branch_table,
    use_default_branch_lint_files,
    with_default_branch_checks,
)
from seamline.config.pipeline import (
    CONFIG_NAME,
    PipelineConfig,
    PipelineSection,
    load_pipeline_config,
)
from seamline.config.settings import Settings
from seamline.errors import GateFailure, ToolFailed, UsageError
from seamline.overlay.edit import set_and_render
from seamline.overlay.files import current_images, read_pins
from seamline.policy.allowlist import load_allowlist
from seamline.policy.bases import check_bases
from seamline.policy.dockerfile import fetch_problems
from seamline.policy.overlay_moves import Pin, plan_moves
from seamline.run.inputs import RunInputs
from seamline.run.results import Event, Workspace
from seamline.tools.pins import read_pins as read_tool_pins
from seamline.validate.image_ref import ImageRef
from seamline.validate.names import check_name
from tasks.retry_policy import transient_only


@dataclass(frozen=True)
class RunPlan:
    config: PipelineConfig
    overlay: str | None  # what this run may bump; None: build and scan only
    inputs: RunInputs
    overlay_baseline: dict[str, str] = field(default_factory=dict)  # image -> reference


# What decides who may release: read from the default branch, never from the commit
# under test (a pushed branch could otherwise map itself to an overlay).
RELEASE_KEYS = ("default_branch", "default_overlay", "branch_overlays", "overlay_root")


def release_rules(
    settings: Settings, config: PipelineConfig, workspace: Workspace
) -> PipelineConfig | None:
    """``config`` with its release keys as the repository's default branch has them; None
    when the default branch has no seamline.toml (then no branch releases)."""
    history = Toolbox(settings).source_history(Path(workspace.path))
    head, text = history.default_branch_file(CONFIG_NAME)
    if text is None:
        return None
    try:
        table = tomllib.loads(text).get("pipeline", {})
    except tomllib.TOMLDecodeError as e:
        raise UsageError(
            f"{CONFIG_NAME} on the default branch {head} is not valid TOML: {e}",
            hint="fix it on the default branch",
        ) from e
    defaults = PipelineSection(registry=config.pipeline.registry, default_branch=head)
    trusted = {key: table.get(key, getattr(defaults, key)) for key in RELEASE_KEYS}
    try:
        section = PipelineSection.model_validate({**config.pipeline.model_dump(), **trusted})
    except ValidationError as e:
        raise UsageError(
            f"{CONFIG_NAME} on the default branch {head}: {e.errors()[0]['msg']}",
            hint="fix its [pipeline] table on the default branch",
        ) from e
    return config.model_copy(update={"pipeline": section})


def untrusted_check_rules(
    settings: Settings, config: PipelineConfig, workspace: Workspace
) -> PipelineConfig:
    """For a run that releases nothing (untrusted code): ``config`` with which checks
    block, how lint findings count and the lint config files as the default branch has
    them (``seamline.config.check_rules``), logged."""
    read = Toolbox(settings).source_history(Path(workspace.path)).default_branch_file
    head, table = default_branch_table(read)
    rules = use_default_branch_lint_files(
        with_default_branch_checks(config, table, head=head), read
    )
    logger = get_run_logger()
    logger.info("untrusted run: %s", rules.source)
    for note in rules.lint_notes:
        logger.info("untrusted run: %s", note)
    return rules.config


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
) -> tuple[dict[str, str], dict[str, Pin]]:
    """The overlay exists in the GitOps repository, inside it, renders, and uses every
    configured image; and the run is not older than every build it already pins. Returns
    the overlay's image references as found, and the source commit recorded per image."""
    tools = Toolbox(settings)
    remote = tools.gitops_remote().url
    with tempfile.TemporaryDirectory(prefix="seamline-preflight-") as tmp:
        work = tools.gitops_remote().clone(Path(tmp) / "gitops").path
        folder = config.overlay_in(work, overlay)
        if not folder.is_dir():
            raise UsageError(
                f"overlay {overlay!r} does not exist in {remote} "
                f"({config.pipeline.overlay_root}/{overlay})",
                hint="pass an overlay that exists under pipeline.overlay_root, or create it",
            )
        current = overlay_takes_images(
            tools.manifest_editor(), config, folder, label=f"overlay {overlay!r} in {remote}"
        )
        pins, _notes = read_pins(folder)
    _refuse_backwards(
        config, current, pins, workspace, tools.source_history(Path(workspace.path)), force=force
    )
    return current, pins


def overlay_takes_images(
    editor: ManifestEditor, config: PipelineConfig, folder: Path, *, label: str
) -> dict[str, str]:
    """The overlay at ``folder`` (a scratch copy: it is edited) takes a trial edit of
    every configured image and renders each of them; returns its image references as
    found. ``label`` names the overlay in errors."""
    current = current_images(folder)  # also refuses symlinks where seamline writes
    probes = {
        s.image: f"{config.target_repository(s)}@{_probe_digest(s.image)}" for s in config.services
    }
    try:
        set_and_render(editor, folder, probes)
    except ToolFailed as e:  # kustomize said no: the overlay's content, not the machine
        names = ("kustomization.yaml", "kustomization.yml", "Kustomization")
        file = next((n for n in names if (folder / n).is_file()), names[0])
        raise UsageError(
            f"{label} does not take an image edit and render: {e.message}",
            hint=f"fix the {file} of {label} until `kustomize build` renders it",
        ) from e
    return current


def _refuse_backwards(
    config: PipelineConfig,
    current: dict[str, str],
    pins: dict[str, Pin],
    workspace: Workspace,
    history: SourceHistory,
    *,
    force: bool,
) -> None:
    """Before building, the bump's own rule (``plan_moves``) for digests not known yet: a
    run that could only be refused at the bump, for history unrelated to what the overlay
    pins or for being older than every build it pins, is refused now."""
    unknown = "(not built yet)"
    moves = plan_moves(
        wanted={s.image: unknown for s in config.services},
        baseline=current,
        current=current,
        pins=pins,
        run_commit=workspace.commit,
        relation=history.relation,
        force=force,
    )
    unrelated = [m.image for m in moves if m.action == "unrelated"]
    if unrelated:
        raise GateFailure(
            f"the overlay pins builds from history unrelated to {workspace.commit[:12]} "
            f"({', '.join(unrelated)})",
            hint="a force-push or another repository? rerun with --force to move them anyway",
        )
    if moves and all(m.action == "stale" for m in moves):
        raise GateFailure(
            f"stale run: the overlay already pins builds of commits newer than "
            f"{workspace.commit[:12]} for every image",
            hint="nothing to do; to roll back on purpose, revert the overlay in Git "
            "or rerun with --force",
        )


def check_settings(config: PipelineConfig) -> dict[str, str]:
    """Per service, a hash of what decides its build-test verdict besides the source:
    which checks block, new findings only, and its lint config's text."""
    hashes = {}
    for service in config.services:
        policy = config.checks_policy(service)
        lint = config.lint_config_path(service)
        hashes[service.name] = value_hash(
            sorted(policy.blocking),
            policy.lint_new_only,
            str(lint.relative_to(config.root)) if lint else "",
            hashlib.sha256(lint.read_bytes()).hexdigest() if lint else "",
        )
    return hashes


def lint_baselines(
    config: PipelineConfig, pins: dict[str, Pin], *, fork_point: str | None = None
) -> dict[str, str]:
    """Per service with new findings only, the source commit its lint findings are new
    since: the one the overlay this run bumps records for its image; for a run that bumps
    no overlay (a pull request, another branch), where its history left the default branch
    (``fork_point``). A service with neither (its image's first bump, a run on the default
    branch that bumps nothing) counts every finding."""
    baselines = {}
    for service in config.services:
        if not config.checks_policy(service).lint_new_only:
            continue
        pin = pins.get(service.image)
        baseline = pin.source_commit if pin else fork_point
        if baseline:
            baselines[service.name] = baseline
    return baselines


def resolve_inputs(
    settings: Settings,
    config: PipelineConfig,
    *,
    releases: bool,
    copies: dict[str, BuildCopy],
    build_args: dict[str, str],
    pins: dict[str, Pin] | None = None,
    fork_point: str | None = None,
) -> RunInputs:
    """Releasing runs are the trusted ones: pushes to a branch that bumps an overlay.
    ``copies``: each service's build copy of its Dockerfile (``build_copies``); the
    digests of the bases they pull from the registry join the inputs, and a base the
    registry should hold and does not is a usage error now. ``pins``: the source commits
    the overlay this run bumps records per image; ``fork_point``: for a run that bumps
    none, where its commit left the default branch."""
    tools = Toolbox(settings)
    pulled = {base for copy in copies.values() for base in copy.bases}
    registry = tools.registry()
    try:
        bases = {
            ref: mirrored_digest(registry, settings, ref)
            for ref in sorted(set(build_args.values()) | pulled)
        }
        trivy_db = trivy_db_digest(registry, settings)
    finally:
        registry.close()
    allowlist = config.allowlist_path()
    if allowlist is not None:
        load_allowlist(allowlist)  # a broken allow-list is a usage error now, not at the scan
    return RunInputs(
        tool_versions={p.name: p.version for p in read_tool_pins(settings.toolchain_file)},
        sources={s.name: tree_hash(config.context_of(s)) for s in config.services},
        # What the image builder builds: the build copy, mirrors named.
        dockerfiles={
            name: hashlib.sha256(copy.text.encode()).hexdigest() for name, copy in copies.items()
        },
        checks=check_settings(config),
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
        signer=tools.signer().identity if releases else "",
        sandbox_image=_pinned(build_args["GO_BUILDER_IMAGE"], bases, settings.registry),
        lint_baselines=lint_baselines(config, pins or {}, fork_point=fork_point),
    )


def build_copies(
    config: PipelineConfig,
    build_args: dict[str, str],
    *,
    buildkit: bool = False,
    untrusted: bool = False,
) -> dict[str, BuildCopy]:
    """Each service's Dockerfile as the image stage will build it: the mirrors of
    ``[pipeline.base_images]`` named, for the builder's platform resolved later; for
    ``buildkit``, Docker's own ``# syntax=`` frontend left to the built-in one; for a run
    that releases nothing (``untrusted``), its cache mounts' ids namespaced."""
    mapping = config.pipeline.base_image_map()
    copies = {}
    for service in config.services:
        path = config.dockerfile_of(service)
        try:
            text = path.read_bytes().decode()
        except UnicodeDecodeError as e:
            raise UsageError(f"{path} is not UTF-8 text", hint="save it as UTF-8") from e
        copies[service.name] = build_copy(
            text,
            mapping=mapping,
            build_args=build_args,
            builtin_frontend=buildkit,
            untrusted=untrusted,
        )
    return copies


def _check_bases(
    settings: Settings,
    config: PipelineConfig,
    copies: dict[str, BuildCopy],
    build_args: dict[str, str],
) -> None:
    """``check_bases`` with the builder asked (only when a base is not seamline's own or
    in a registry) whether it holds an image already."""
    builder: ImageBuilder | None = None

    def held(reference: str) -> bool:
        nonlocal builder
        if builder is None:
            builder = Toolbox(settings).image_builder()
        return builder.has_image(reference)

    try:
        check_bases(
            copies,
            provided=set(build_args.values()),
            registries={settings.registry, config.pipeline.registry},
            held=held,
            mirror_registry=settings.registry,
        )
    finally:
        if builder is not None:
            builder.close()


def dockerfile_problems(
    config: PipelineConfig,
    copies: dict[str, BuildCopy],
    build_args: dict[str, str],
    settings: Settings,
) -> list[str]:
    """Each way a service's build copy would make the image builder fetch a file from
    elsewhere or copy from an image seamline does not provide, named by service."""
    problems = []
    for service in config.services:
        copy = copies[service.name]
        problems += [
            f"{service.name}: {problem}"
            for problem in fetch_problems(
                copy.text,
                build_args=build_args,
                registries={settings.registry, config.pipeline.registry},
            )
        ]
    return problems


def _check_dockerfiles(
    config: PipelineConfig,
    copies: dict[str, BuildCopy],
    build_args: dict[str, str],
    settings: Settings,
) -> None:
    """No Dockerfile makes the image builder fetch a file from elsewhere, and none uses
    what only BuildKit builds when the classic builder is set (a usage error naming the
    lines, before any build); a ``# syntax=`` BuildKit leaves to its built-in frontend
    is logged."""
    log = get_run_logger()
    check_cache_mounts(config, copies)
    if settings.image_builder != "buildkit":
        needs = classic_builder_problems(config, copies)
        if needs:
            raise UsageError(
                "Dockerfiles only BuildKit builds: " + "; ".join(needs),
                hint="set SEAMLINE_IMAGE_BUILDER=buildkit (`seamline stack up` starts "
                "buildkitd), or write these lines for the classic builder",
            )
    for service in config.services:
        copy = copies[service.name]
        for directive in copy.dropped:
            log.info(
                "%s: %r not used: BuildKit's built-in Dockerfile frontend builds it, "
                "without pulling the frontend image",
                service.name,
                directive,
            )
        if kept := [d for d in copy.directives if d not in copy.dropped]:
            log.warning("%s: parser directives kept as written (%s)", service.name, ", ".join(kept))
    problems = dockerfile_problems(config, copies, build_args, settings)
    if problems:
        raise GateFailure(
            "Dockerfiles would fetch from outside seamline's images: " + "; ".join(problems),
            hint="COPY --from a stage or an image of the target registry, and COPY files "
            "from the repository instead of ADD <url>",
        )


def check_cache_mounts(config: PipelineConfig, copies: dict[str, BuildCopy]) -> None:
    """A build that releases nothing namespaces every cache mount of its Dockerfiles; one
    it cannot is a usage error naming the file and line, before any build."""
    for service in config.services:
        refuse(config.dockerfile_of(service), copies[service.name].cache_refusals)


def classic_builder_problems(config: PipelineConfig, copies: dict[str, BuildCopy]) -> list[str]:
    """What each service's Dockerfile uses that only BuildKit builds, named by service."""
    return [
        f"{service.name}: {config.dockerfile_of(service).name} {line}"
        for service in config.services
        for line in copies[service.name].buildkit_only
    ]


def _pinned(reference: str, digests: dict[str, str], registry: str) -> str:
    """``repository@digest`` for a base in our registry, else the reference as given."""
    digest = digests.get(reference)
    if not digest:
        return reference
    name = ImageRef.parse(reference).repository_in(registry)
    return f"{registry}/{name}@{digest}"


def trivy_db_digest(registry: RegistryClient, settings: Settings) -> str:
    """The Trivy DB a run scans with: its digest in the mirror, or its reference when it
    is an upstream one (trivy then keeps it up to date itself)."""
    return mirrored_digest(registry, settings, settings.trivy_db()) or settings.trivy_db()


def mirrored_digest(registry: RegistryClient, settings: Settings, reference: str) -> str:
    """A base image's digest in the target registry; "" for an upstream reference the
    daemon resolves itself."""
    if not reference.startswith(settings.registry + "/"):
        return ""
    ref = ImageRef.parse(reference)
    digest = registry.manifest_digest(ref.repository_in(settings.registry), ref.manifest_reference)
    if digest is None:
        raise UsageError(
            f"{reference} is not in the registry", hint="run `seamline stack up` to mirror it"
        )
    return str(digest)


@task(
    name="preflight",
    task_run_name="preflight",
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def preflight(
    settings: Settings,
    workspace: Workspace,
    event: Event,
    requested_overlay: str,
    force: bool,
) -> RunPlan:
    own = load_pipeline_config(Path(workspace.path))
    trusted = release_rules(settings, own, workspace)
    config = trusted or own
    if trusted is None:  # nothing on the default branch says who may release
        if requested_overlay:
            raise UsageError(
                f"the default branch of {workspace.repo} has no {CONFIG_NAME}: no branch "
                "may bump an overlay yet",
                hint=f"merge a {CONFIG_NAME} into the default branch",
            )
        overlay = None
    else:
        overlay = decide_overlay(config, event, workspace.branch, requested_overlay)
    baseline: dict[str, str] = {}
    pins: dict[str, Pin] = {}
    if overlay is not None:
        baseline, pins = check_overlay(settings, config, overlay, workspace, force=force)
    elif event == "push":
        get_run_logger().info(
            "branch %s bumps no overlay (pipeline.branch_overlays): build and scan only",
            workspace.branch or "(none)",
        )
    if overlay is None:  # untrusted: the commit under test does not choose its own gate
        config = untrusted_check_rules(settings, config, workspace)
    fork = None
    if overlay is None and any(config.checks_policy(s).lint_new_only for s in config.services):
        fork = Toolbox(settings).source_history(Path(workspace.path)).fork_point(workspace.commit)
    build_args = Toolbox(settings).base_images()
    copies = build_copies(
        config,
        build_args,
        buildkit=settings.image_builder == "buildkit",
        untrusted=overlay is None,
    )
    _check_dockerfiles(config, copies, build_args, settings)
    _check_bases(settings, config, copies, build_args)
    inputs = resolve_inputs(
        settings,
        config,
        releases=overlay is not None,
        copies=copies,
        build_args=build_args,
        pins=pins,
        fork_point=fork,
    )
    return RunPlan(config=config, overlay=overlay, inputs=inputs, overlay_baseline=baseline)
