"""Stage promote: the digests one overlay pins, verified again, written unchanged into the
next overlay by one Git commit. Nothing is rebuilt or pushed to a registry.

Before anything moves, each digest must carry a signature by the configured signer, a
verified SPDX SBOM attestation and SLSA provenance attestation, pass the *target*
overlay's scan gate with today's vulnerability DB, and its latest signed scan (the ``vuln``
attestation the nightly re-scan or CI left) must pass the target's gate too; a digest with
no such attestation falls back to the re-scan's open blocks in the state folder
(``seamline.policy.promotion``). The
commit is serialized with the bumps of the target overlay (the same Prefect global
concurrency limit as ``tasks.bump``) and records, in ``seamline-pins.json``, the source
commit each image was built from. With ``pr`` the commit goes to a new branch instead, and
a pull request into the GitOps branch is opened through the forge (or, with none
configured, reported as what would be opened).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.roles import (
    GitOpsRemote,
    ManifestEditor,
    OpenedPullRequest,
    PullRequestDraft,
    PullRequests,
    Scanner,
    Signer,
)
from seamline.adapters.toolbox import Toolbox
from seamline.config.pipeline import PipelineConfig, load_pipeline_config
from seamline.config.settings import Settings
from seamline.errors import ForgeFailed, GateFailure, PushRejected, UsageError
from seamline.overlay.edit import set_and_render
from seamline.overlay.files import BUMP_TRAILER, current_images, read_pins, write_pins
from seamline.policy.allowlist import AllowList, load_allowlist
from seamline.policy.gate import GatePolicy, evaluate_gate
from seamline.policy.overlay_moves import Pin
from seamline.policy.promotion import (
    RESCAN_BLOCK,
    SCAN_GATE,
    CheckOutcome,
    DigestChecks,
    decide_promotion,
    pending_moves,
)
from seamline.policy.rescan import RescanBlock
from seamline.run.rescan_state import RescanState
from seamline.run.results import SEVERITIES
from seamline.validate.image_ref import ImageRef
from seamline.validate.names import check_name, check_ref
from tasks.bump import PUSH_ATTEMPTS, lock_name, overlay_lock
from tasks.context import Log
from tasks.retry_policy import transient_only
from tasks.side_by_side import side_by_side
from tasks.verify_evidence import (
    gate_detail,
    guarded,
    provenance_check,
    sbom_check,
    signature_check,
    vulnerability_check,
)


@dataclass(frozen=True)
class PromotionPlan:
    """What a promotion moves, read from one clone of the GitOps repository."""

    source: str
    target: str
    gitops_commit: str  # the GitOps commit the source overlay was read at
    images: dict[str, str]  # image name -> name@digest, only those the target lacks
    pins: dict[str, Pin]  # the source overlay's records of those images
    gate: GatePolicy  # the target overlay's scan gate


@dataclass(frozen=True)
class PromotedImage:
    image: str
    reference: str
    checks: tuple[str, ...]

    @property
    def digest(self) -> str:
        return self.reference.partition("@")[2]


@dataclass(frozen=True)
class PromotionResult:
    source: str
    target: str
    gitops_commit: str
    commit: str | None  # None: the target already pinned these digests
    images: tuple[PromotedImage, ...]
    branch: str | None = None  # where the commit was pushed
    pull_request: PullRequestDraft | None = None  # asked for (--pr)
    opened: OpenedPullRequest | None = None  # None with --pr: no forge configured


def parse_services(text: str) -> tuple[str, ...]:
    """``"a, b"`` -> ``("a", "b")``; empty means every service."""
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def _selected_images(config: PipelineConfig, services: Sequence[str]) -> list[str]:
    known = {s.name: s.image for s in config.services}
    unknown = [name for name in services if name not in known]
    if unknown:
        raise UsageError(
            f"unknown service(s) {', '.join(unknown)}",
            hint=f"choose from {', '.join(sorted(known))}",
        )
    return [known[name] for name in services] if services else list(known.values())


def plan_promotion(
    remote: GitOpsRemote,
    work: Path,
    *,
    source: str,
    target: str,
    services: Sequence[str],
    severities: str,
    ignore_unfixed: bool,
    log: Log,
) -> PromotionPlan:
    """Read the GitOps repository at its head: is ``source -> target`` allowed, which
    digests does ``source`` pin, which of them does ``target`` lack, under which gate."""
    check_name(source, what="overlay")
    check_name(target, what="overlay")
    clone = remote.clone(work)
    config = load_pipeline_config(clone.path)
    config.check_promotion(source, target)
    source_dir = config.overlay_in(clone.path, source)
    target_dir = config.overlay_in(clone.path, target)
    pinned = current_images(source_dir)
    current = current_images(target_dir)
    wanted: dict[str, str] = {}
    for image in _selected_images(config, services):
        reference = pinned.get(image)
        if reference is not None and ImageRef.parse(reference).digest:
            wanted[image] = reference
        elif services:
            raise UsageError(
                f"overlay {source} does not pin {image} by digest ({reference or 'absent'})",
                hint=f"release it into {source} first",
            )
        else:
            log.warning("overlay %s pins %s by tag, not by digest: skipped", source, image)
    if not wanted:
        raise UsageError(
            f"overlay {source} pins no image by digest", hint=f"release into {source} first"
        )
    moves = pending_moves(wanted, current)
    for image in sorted(set(wanted) - set(moves)):
        log.info("%s: %s already pins %s", image, target, wanted[image])
    source_pins, notes = read_pins(source_dir)
    for note in notes:
        log.warning("overlay %s: %s", source, note)
    listed = config.allowlist_path()
    return PromotionPlan(
        source=source,
        target=target,
        gitops_commit=clone.head,
        images=moves,
        pins={i: p for i, p in source_pins.items() if moves.get(i) == p.reference},
        gate=config.gate_for(
            target,
            severities=severities,
            ignore_unfixed=ignore_unfixed,
            allowlist=load_allowlist(listed) if listed else AllowList.empty(),
        ),
    )


def check_digest(
    image: str,
    reference: str,
    *,
    signer: Signer,
    scanner: Scanner,
    gate: GatePolicy,
    today: dt.date,
    blocks: Callable[[str], RescanBlock | None],
) -> DigestChecks:
    """Run every promotion check on ``reference`` (all of them, so each failure is named),
    side by side: they are independent reads of the registry and the DB, so a digest takes
    as long as its slowest check, not their sum. Outcomes keep the checks' order.
    ``blocks`` answers the open re-scan block of a reference, if any: check 5 asks it only
    when no vuln attestation on the digest verifies."""

    def scan() -> CheckOutcome:
        report = scanner.scan_image(reference, severities=SEVERITIES).report
        decision = evaluate_gate(report, gate, today=today)
        return CheckOutcome(check=SCAN_GATE, passed=decision.passed, detail=gate_detail(decision))

    outcomes = side_by_side(
        lambda: signature_check(signer, reference),
        lambda: sbom_check(signer, reference),
        lambda: provenance_check(signer, reference),
        lambda: guarded(SCAN_GATE, scan),
        lambda: guarded(
            RESCAN_BLOCK,
            lambda: vulnerability_check(
                RESCAN_BLOCK, signer, reference, gate=gate, today=today, blocks=blocks
            ),
        ),
        name="promotion-checks",
    )
    return DigestChecks(image=image, reference=reference, outcomes=tuple(outcomes))


@dataclass(frozen=True)
class Seams:
    """What the commit works with: the GitOps remote, the overlay editor, the logger, and
    the lock that serializes every change to one overlay."""

    remote: GitOpsRemote
    editor: ManifestEditor
    log: Log
    serialized: Callable[[str], AbstractContextManager[object]]


def _title(plan: PromotionPlan) -> str:
    return f"seamline: promote {plan.source} -> {plan.target}"


def commit_message(
    plan: PromotionPlan, moved: Sequence[PromotedImage], *, run_id: str, run_url: str
) -> str:
    lines = [_title(plan), ""]
    for image in moved:
        lines += [f"{image.image}: {image.reference}", f"  checks: {', '.join(image.checks)}"]
    lines += ["", f"Source: overlay {plan.source} @ {plan.gitops_commit}"]
    lines += [f"Flow run: {run_url}", "", f"{BUMP_TRAILER}: {run_id}"]
    return "\n".join(lines) + "\n"


def promotion_branch(plan: PromotionPlan, commit: str) -> str:
    """The branch a ``--pr`` promotion pushes its commit to: what moves where, and which
    commit."""
    return check_ref(
        f"seamline/promote-{plan.source}-to-{plan.target}-{commit[:12]}", what="branch"
    )


def pull_request_draft(
    plan: PromotionPlan,
    moved: Sequence[PromotedImage],
    *,
    head: str,
    base: str,
    run_url: str,
) -> PullRequestDraft:
    """The pull request of a promotion: its body lists each image, digest and the checks
    it passed, as the commit message does."""
    lines = [
        f"Moves the digests overlay `{plan.source}` pins into `{plan.target}`, unchanged: "
        "each passed every check below. Nothing was rebuilt.",
        "",
        "| image | reference | checks passed |",
        "|---|---|---|",
    ]
    lines += [f"| {i.image} | `{i.reference}` | {', '.join(i.checks)} |" for i in moved]
    lines += ["", f"Source: overlay `{plan.source}` @ `{plan.gitops_commit}`"]
    lines += [f"Flow run: {run_url}"]
    return PullRequestDraft(title=_title(plan), head=head, base=base, body="\n".join(lines) + "\n")


def _approved(plan: PromotionPlan, checked: Sequence[DigestChecks]) -> list[PromotedImage]:
    """The plan's images once every check passed on each; GateFailure naming each digest
    and check otherwise (a digest with no checks at all counts as unchecked)."""
    by_reference = {c.reference: c for c in checked}
    complete = [
        by_reference.get(ref) or DigestChecks(image=image, reference=ref, outcomes=())
        for image, ref in plan.images.items()
    ]
    decision = decide_promotion(complete)
    if not decision.passed:
        raise GateFailure(
            f"{plan.source} -> {plan.target} refused: "
            + "; ".join(f.describe() for f in decision.failures),
            hint="nothing was committed; fix the image in the source overlay (re-sign, "
            "attest, or rebuild with fixed packages) and promote again",
            details={
                "failures": [
                    {
                        "image": f.image,
                        "reference": f.reference,
                        "check": f.check,
                        "detail": f.detail,
                    }
                    for f in decision.failures
                ]
            },
        )
    return [PromotedImage(c.image, c.reference, c.passed_checks()) for c in decision.movable]


def commit_promotion(
    plan: PromotionPlan,
    checked: Sequence[DigestChecks],
    seams: Seams,
    *,
    run_id: str,
    run_url: str,
    pr: bool = False,
) -> PromotionResult:
    """Write exactly the checked ``name@digest`` references into the target overlay and
    push one commit; no commit when the target already pins them all. ``pr``: push it to
    a new branch (``promotion_branch``) and return the pull request to open into the
    remote's branch."""
    approved = _approved(plan, checked)
    unchanged = PromotionResult(plan.source, plan.target, plan.gitops_commit, None, ())
    if not approved:
        seams.log.info("overlay %s already pins these digests: no commit", plan.target)
        return unchanged
    remote = seams.remote
    with (
        tempfile.TemporaryDirectory(prefix="seamline-promote-") as tmp,
        seams.serialized(lock_name(remote.url, plan.target)),
    ):
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            work = remote.clone(Path(tmp) / f"gitops-{attempt}")
            overlay = load_pipeline_config(work.path).overlay_in(work.path, plan.target)
            moves = pending_moves(plan.images, current_images(overlay))
            moved = [image for image in approved if image.image in moves]
            if not moved:
                seams.log.info("overlay %s already pins these digests: no commit", plan.target)
                return unchanged
            set_and_render(seams.editor, overlay, moves)
            pins, notes = read_pins(overlay)
            for note in notes:
                seams.log.warning("overlay %s: %s", plan.target, note)
            for image in moves:
                if image in plan.pins:
                    pins[image] = plan.pins[image]
                else:  # the source keeps no record of this build: none is better than stale
                    pins.pop(image, None)
            write_pins(overlay, pins)
            sha = work.commit_all(commit_message(plan, moved, run_id=run_id, run_url=run_url))
            if sha is None:
                return unchanged
            if pr:
                branch = promotion_branch(plan, sha)
                work.push(branch=branch)
                seams.log.info(
                    "pushed %s to %s: %s -> %s", sha[:12], branch, plan.source, plan.target
                )
                draft = pull_request_draft(
                    plan, moved, head=branch, base=remote.branch, run_url=run_url
                )
                return PromotionResult(
                    plan.source,
                    plan.target,
                    plan.gitops_commit,
                    sha,
                    tuple(moved),
                    branch=branch,
                    pull_request=draft,
                )
            try:
                work.push()
            except PushRejected:
                seams.log.warning("push race on %s (attempt %d): redoing", remote.branch, attempt)
                continue
            seams.log.info("committed %s: %s -> %s", sha[:12], plan.source, plan.target)
            return PromotionResult(
                plan.source,
                plan.target,
                plan.gitops_commit,
                sha,
                tuple(moved),
                branch=remote.branch,
            )
    raise PushRejected(f"{remote.branch} kept moving: gave up after {PUSH_ATTEMPTS} attempts")


def request_review(
    result: PromotionResult, forge: PullRequests | None, log: Log
) -> PromotionResult:
    """Open the pull request ``result`` asks for through ``forge``; with no forge, report
    what would be opened and leave the pushed branch."""
    draft = result.pull_request
    if draft is None:
        return result
    if forge is None:
        log.info(
            "no forge configured (SEAMLINE_FORGE_REPOSITORY): branch %s is pushed; the pull "
            "request to open: %r, %s -> %s",
            draft.head,
            draft.title,
            draft.head,
            draft.base,
        )
        return result
    try:
        opened = forge.open(draft)
    except ForgeFailed as e:
        raise ForgeFailed(
            f"{e.message} (branch {draft.head} is pushed)", hint=e.hint, transient=e.transient
        ) from e
    finally:
        forge.close()
    if opened.existed:
        log.info(
            "pull request #%d is already open for %s: %s", opened.number, draft.head, opened.url
        )
    else:
        log.info("opened pull request #%d: %s", opened.number, opened.url)
    return replace(result, opened=opened)


def check_forge(settings: Settings) -> None:
    """Fail before anything moves when ``--pr`` cannot reach its forge's credentials."""
    forge = Toolbox(settings).pull_requests()
    if forge is not None:
        forge.close()


@task(
    name="promotion-plan",
    task_run_name="promotion-plan",
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def read_promotion(
    settings: Settings, source: str, target: str, services: str, pr: bool = False
) -> PromotionPlan:
    if pr:
        check_forge(settings)
    with tempfile.TemporaryDirectory(prefix="seamline-promote-") as folder:
        return plan_promotion(
            Toolbox(settings).gitops_remote(),
            Path(folder) / "gitops",
            source=source,
            target=target,
            services=parse_services(services),
            severities=settings.gate_severities,
            ignore_unfixed=settings.ignore_unfixed,
            log=get_run_logger(),
        )


@task(
    name="promotion-checks",
    task_run_name="promotion-checks[{image}]",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def check_promotion(
    settings: Settings, image: str, reference: str, gate: GatePolicy, trivy_db: str
) -> DigestChecks:
    tools = Toolbox(settings)
    checked = check_digest(
        image,
        reference,
        signer=tools.signer(),
        scanner=tools.scanner(trivy_db),
        gate=gate,
        today=dt.date.today(),
        blocks=RescanState.under(settings.state_dir).block_for,
    )
    log = get_run_logger()
    for outcome in checked.outcomes:
        mark = "passed" if outcome.passed else "FAILED"
        log.info("%s: %s %s (%s)", reference, outcome.check, mark, outcome.detail)
    return checked


@task(
    name="promote",
    task_run_name="promote",
    retries=3,
    retry_delay_seconds=[1, 3, 5],
    retry_condition_fn=transient_only,
)
def promote_overlay(
    settings: Settings,
    plan: PromotionPlan,
    checked: list[DigestChecks],
    run_id: str,
    pr: bool = False,
) -> PromotionResult:
    tools = Toolbox(settings)
    seams = Seams(
        remote=tools.gitops_remote(),
        editor=tools.manifest_editor(),
        log=get_run_logger(),
        serialized=overlay_lock,
    )
    run_url = f"{settings.prefect_ui_url}/runs/flow-run/{run_id}"
    return commit_promotion(plan, checked, seams, run_id=run_id, run_url=run_url, pr=pr)


@task(
    name="promotion-pull-request",
    task_run_name="promotion-pull-request",
    retries=3,
    retry_delay_seconds=[2, 5, 10],
    retry_condition_fn=transient_only,
)
def open_pull_request(settings: Settings, result: PromotionResult) -> PromotionResult:
    return request_review(result, Toolbox(settings).pull_requests(), get_run_logger())
