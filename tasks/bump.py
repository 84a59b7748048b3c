"""Stage bump (the gather): the run's verified digests into the overlay, one commit.

Serialized per GitOps repository and overlay by a Prefect global concurrency limit.
Under it the bump reads the overlay afresh and moves only images this run changes, and
only forward (``seamline.policy.overlay_moves``): a concurrent run of another commit
keeps its images, an older run never sets one back. ``seamline-pins.json`` records which
source commit each pinned image came from. A push that lost a race is redone on a fresh
clone.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from prefect import get_client, task
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.logging import get_run_logger

from seamline.adapters.roles import GitOpsRemote, ManifestEditor, SourceHistory
from seamline.errors import GateFailure, PushRejected
from seamline.overlay.edit import set_and_render
from seamline.overlay.files import BUMP_TRAILER, current_images, read_pins, write_pins
from seamline.policy.bump_precondition import ServiceOutcome, require_verified_digests
from seamline.policy.overlay_moves import Move, Pin, plan_moves, refused, writes
from seamline.run.results import BumpResult
from tasks.context import Log, RunContext
from tasks.retry_policy import transient_only

PUSH_ATTEMPTS = 5


def lock_name(remote: str, overlay: str) -> str:
    return "seamline-bump-" + hashlib.sha256(f"{remote}\0{overlay}".encode()).hexdigest()[:16]


def ensure_lock(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1)
                )
            except ObjectAlreadyExists:  # a concurrent run created it first
                pass


def commit_message(ctx: RunContext, moves: list[Move]) -> str:
    lines = [f"seamline: {ctx.overlay}: set image digests", ""]
    lines += [f"{m.image}: {m.wanted}" for m in writes(moves)]
    skipped = refused(moves)
    if skipped:
        lines += ["", "Not moved:"] + [f"{m.describe(ctx.workspace.commit)}" for m in skipped]
    lines += ["", f"Source: {ctx.workspace.repo} @ {ctx.workspace.commit}"]
    lines += [f"Flow run: {ctx.flow_run_url}", "", f"{BUMP_TRAILER}: {ctx.flow_run_id}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Seams:
    """What the bump works with: the GitOps remote, the overlay editor, the source's
    history, the logger, and the lock that serializes bumps of one overlay."""

    remote: GitOpsRemote
    editor: ManifestEditor
    history: SourceHistory
    log: Log
    serialized: Callable[[str], AbstractContextManager[object]]


@dataclass(frozen=True)
class _Plan:
    overlay: Path
    pins: dict[str, Pin]
    moves: list[Move]


def _plan(ctx: RunContext, seams: Seams, work: Path, wanted: dict[str, str]) -> _Plan:
    """Read the overlay in ``work`` and decide, per image, what this run may do."""
    overlay = ctx.config.overlay_in(work, ctx.overlay or "")
    current = current_images(overlay)  # first: it refuses symlinks where seamline writes
    pins, notes = read_pins(overlay)
    for note in notes:
        seams.log.warning("overlay %s: %s", ctx.overlay, note)
    moves = plan_moves(
        wanted=wanted,
        baseline=ctx.overlay_baseline,
        current=current,
        pins=pins,
        run_commit=ctx.workspace.commit,
        relation=seams.history.relation,
        force=ctx.force,
    )
    return _Plan(overlay, pins, moves)


def _apply(ctx: RunContext, editor: ManifestEditor, plan: _Plan) -> None:
    changed = {m.image: m.wanted for m in writes(plan.moves)}
    set_and_render(editor, plan.overlay, changed)
    pins = dict(plan.pins)
    for image, reference in changed.items():
        pins[image] = Pin(
            reference=reference,
            source_commit=ctx.workspace.commit,
            source_repo=ctx.workspace.repo,
            flow_run=ctx.flow_run_url,
        )
    write_pins(plan.overlay, pins)


def _nothing_to_write(
    ctx: RunContext, log: Log, moves: list[Move], images: dict[str, str]
) -> BumpResult:
    """No image moves: a no-op, or a refusal when the run wanted to move some backwards."""
    blocked = refused(moves)
    if blocked:
        raise GateFailure(
            f"overlay {ctx.overlay} not moved backwards: "
            + "; ".join(m.describe(ctx.workspace.commit) for m in blocked),
            hint="nothing was committed; to roll back on purpose, revert the overlay in Git "
            "or rerun with --force",
        )
    log.info("overlay %s already at these digests: no commit", ctx.overlay)
    return BumpResult(ctx.overlay or "", None, images)


def bump(ctx: RunContext, outcomes: list[ServiceOutcome], seams: Seams) -> BumpResult:
    images = require_verified_digests(outcomes)
    remote, log = seams.remote, seams.log
    branch = remote.branch
    with tempfile.TemporaryDirectory(prefix="seamline-bump-") as tmp:
        # A first look before taking the lock, so a run that changes nothing never waits.
        look = _plan(ctx, seams, remote.clone(Path(tmp) / "look").path, images)
        if not writes(look.moves):
            return _nothing_to_write(ctx, log, look.moves, images)
        with seams.serialized(lock_name(remote.url, ctx.overlay or "")):
            for attempt in range(1, PUSH_ATTEMPTS + 1):
                # Under the lock, always from the remote's current head: another run may
                # have moved other images (or these) since the first look.
                work = remote.clone(Path(tmp) / f"gitops-{attempt}")
                plan = _plan(ctx, seams, work.path, images)
                moves = plan.moves
                if not writes(moves):
                    return _nothing_to_write(ctx, log, moves, images)
                _apply(ctx, seams.editor, plan)
                sha = work.commit_all(commit_message(ctx, moves))
                if sha is None:
                    return _nothing_to_write(ctx, log, moves, images)
                try:
                    work.push()
                except PushRejected:
                    log.warning("push race on %s (attempt %d): redoing", branch, attempt)
                    continue
                for move in refused(moves):
                    log.warning("not moved: %s", move.describe(ctx.workspace.commit))
                log.info("committed %s to %s (%s)", sha[:12], branch, ctx.overlay)
                return BumpResult(ctx.overlay or "", sha, images, work.last_diff())
    raise PushRejected(f"{branch} kept moving: gave up after {PUSH_ATTEMPTS} attempts")


@contextmanager
def overlay_lock(name: str) -> Iterator[None]:
    """One bump at a time per GitOps repository and overlay, across every run."""
    ensure_lock(name)
    with concurrency(name, occupy=1, strict=True, timeout_seconds=600):
        yield


@task(
    name="bump",
    task_run_name="bump",
    retries=3,
    retry_delay_seconds=[1, 3, 5],
    retry_condition_fn=transient_only,
)
def bump_overlay(ctx: RunContext, outcomes: list[ServiceOutcome]) -> BumpResult:
    tools = ctx.tools
    seams = Seams(
        remote=tools.gitops_remote(),
        editor=tools.manifest_editor(),
        history=tools.source_history(Path(ctx.workspace.path)),
        log=get_run_logger(),
        serialized=overlay_lock,
    )
    return bump(ctx, outcomes, seams)
