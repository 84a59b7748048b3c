"""Stage bump (the gather): every service's verified digest into the overlay, one commit.

Serialized per GitOps repository and overlay by a Prefect global concurrency limit; a push
that lost a race is redone on a fresh clone.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from prefect import get_client, task
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound
from prefect.logging import get_run_logger

from seamline.adapters.git_repo import PushRejected, clone, commit_all, push
from seamline.errors import ToolFailed
from seamline.policy.digests import ServiceOutcome, require_verified_digests
from seamline.results import BumpResult
from tasks.context import RunContext
from tasks.retry_policy import transient_only

PUSH_ATTEMPTS = 5


def lock_name(remote: str, overlay: str) -> str:
    return "seamline-bump-" + hashlib.sha256(f"{remote}\0{overlay}".encode()).hexdigest()[:16]


def ensure_lock(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


def commit_message(ctx: RunContext, images: dict[str, str]) -> str:
    lines = [f"seamline: {ctx.overlay}: set image digests", ""]
    lines += [f"{name}: {reference}" for name, reference in sorted(images.items())]
    lines += ["", f"Source: {ctx.workspace.repo} @ {ctx.workspace.commit}"]
    lines += [f"Flow run: {ctx.flow_run_url}"]
    return "\n".join(lines) + "\n"


def _apply(ctx: RunContext, work: Path, images: dict[str, str]) -> Path:
    overlay = work / ctx.config.pipeline.overlay_root / ctx.overlay
    kustomize = ctx.tools.kustomize()
    for name, reference in images.items():
        repository, _, digest = reference.partition("@")
        kustomize.set_image(overlay, name, repository, digest)
    rendered = kustomize.build(overlay)
    missing = [ref for ref in images.values() if ref not in rendered]
    if missing:
        raise ToolFailed(
            f"overlay {ctx.overlay} does not render the new digests: {', '.join(missing)}",
            hint="check that the overlay's images: names match the services' image names",
        )
    return overlay


@task(
    name="bump",
    retries=3,
    retry_delay_seconds=[1, 3, 5],
    retry_condition_fn=transient_only,
)
def bump_overlay(ctx: RunContext, outcomes: list[ServiceOutcome]) -> BumpResult:
    images = require_verified_digests(outcomes)
    remote = ctx.settings.default_gitops_remote()
    branch = ctx.settings.gitops_branch
    logger = get_run_logger()
    with tempfile.TemporaryDirectory(prefix="seamline-bump-") as tmp:
        # Edited before taking the lock, so a run that changes nothing never waits for it.
        repo = clone(remote, Path(tmp) / "gitops", branch=branch)
        _apply(ctx, Path(tmp) / "gitops", images)
        if not repo.is_dirty(untracked_files=True):
            logger.info("overlay %s already at these digests: no commit", ctx.overlay)
            return BumpResult(ctx.overlay, None, images)
        name = lock_name(remote, ctx.overlay)
        ensure_lock(name)
        with concurrency(name, occupy=1, strict=True, timeout_seconds=600):
            for attempt in range(1, PUSH_ATTEMPTS + 1):
                if attempt > 1:  # lost a push race: start again from the remote's new head
                    work = Path(tmp) / f"gitops-{attempt}"
                    repo = clone(remote, work, branch=branch)
                    _apply(ctx, work, images)
                sha = commit_all(repo, commit_message(ctx, images))
                if sha is None:
                    logger.info("overlay %s already at these digests: no commit", ctx.overlay)
                    return BumpResult(ctx.overlay, None, images)
                try:
                    push(repo, branch=branch)
                except PushRejected:
                    logger.warning("push race on %s (attempt %d): redoing", branch, attempt)
                    continue
                logger.info("committed %s to %s (%s)", sha[:12], branch, ctx.overlay)
                return BumpResult(ctx.overlay, sha, images)
    raise PushRejected(f"{branch} kept moving: gave up after {PUSH_ATTEMPTS} attempts")
