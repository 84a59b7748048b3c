"""The CI flow: checkout → preflight, then per service build-test → image → push → scan
gate → sign & attest provenance, SBOM beside the scan and its attestation after both; then
one gathering bump of the overlay. A run that releases nothing builds, tests and scans
only, and pushes nothing. Wiring only; every stage lives in ``tasks/``."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, unmapped
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run

from flows.run_report import RunReporter
from seamline.adapters.git_repo import check_remote
from seamline.config.settings import Settings
from seamline.errors import SeamlineError
from seamline.orchestration.run_end import END_HOOKS
from seamline.policy.bump_precondition import ServiceOutcome
from seamline.run.results import Event
from tasks.attest_sbom import attest_sbom
from tasks.build_test import build_test
from tasks.bump import bump_overlay
from tasks.checkout import checkout
from tasks.context import RunContext
from tasks.evidence import publish_evidence, publish_failure
from tasks.image import build_image, remove_layouts
from tasks.orphans import remove_orphans
from tasks.preflight import preflight
from tasks.push import push_image
from tasks.sbom import make_sbom
from tasks.scan import scan_image
from tasks.sign import sign_and_attest


@flow(name="seamline-ci", flow_run_name="{event}-{ref}", **END_HOOKS)
def ci(
    repo: str,
    ref: str = "HEAD",
    event: Event = "push",
    overlay: str = "",
    branch: str = "",
    force: bool = False,
    reason: str = "",
    gitops: str = "",
    settings: Settings | None = None,
) -> State[Any]:
    """Build, test, scan, sign and release every service of one commit.

    Args:
        repo: The source repository: a path on the executor's machine or a git URL.
        ref: The commit, branch or tag to build.
        event: "push" releases into the overlay (signs, pushes, commits); "pull_request"
            builds, tests and scans only, and never signs or commits.
        overlay: The overlay to bump; empty for the one seamline.toml maps the branch to.
        branch: The branch the commit was pushed to (names the overlay when overlay is empty).
        force: Move images even when the overlay pins builds from unrelated history or
            from newer commits (a deliberate rollback).
        reason: Why this run was started (the webhook delivery, the schedule, a person).
        gitops: The GitOps repository whose overlay a push bumps: a path on the executor's
            machine or a git URL; empty for the executor's SEAMLINE_GITOPS_REMOTE.
        settings: Set by in-process runs only; deployment runs use the executor's settings.
    """
    if reason:
        get_run_logger().info("started because: %s", reason)
    run_id = str(flow_run.get_id())
    try:
        settings = (settings or Settings()).for_gitops(check_remote(gitops) if gitops else "")
        remove_orphans(settings, get_run_logger(), run_id=run_id)
        workspace = checkout(settings, repo, ref, branch or None)
        plan = preflight(settings, workspace, event, overlay, force)
    except SeamlineError as e:
        publish_failure(e)
        raise
    ctx = RunContext(
        settings=settings,
        workspace=workspace,
        config=plan.config,
        event=event,
        overlay=plan.overlay,
        inputs=plan.inputs,
        flow_run_id=run_id,
        flow_run_url=f"{settings.prefect_ui_url}/runs/flow-run/{run_id}",
        force=force,
        overlay_baseline=plan.overlay_baseline,
    )
    names = [s.name for s in plan.config.services]
    reporter = RunReporter(ctx)

    tested = build_test.map(unmapped(ctx), names)
    built = build_image.map(unmapped(ctx), names)
    stages: dict[str, list[PrefectFuture[Any]]] = {"build-test": tested, "image": built}
    if not ctx.releases:  # a pull request, or a push to a branch that bumps no overlay
        try:  # nothing pushed: BuildKit's images are in the run's layout folders
            stages["scan"] = scan_image.map(unmapped(ctx), names, built)
            return reporter.finish(stages, bump=None, publish=publish_evidence)
        finally:
            remove_layouts(ctx)

    if settings.scan_order == "push-then-scan":
        pushed = push_image.map(unmapped(ctx), names, built)
        scanned = scan_image.map(unmapped(ctx), names, pushed)
    else:
        scanned = scan_image.map(unmapped(ctx), names, built)
        pushed = push_image.map(unmapped(ctx), names, built, tested, scanned)
    sboms = make_sbom.map(unmapped(ctx), names, pushed)
    signed = sign_and_attest.map(unmapped(ctx), names, built, pushed, scanned, tested)
    attested = attest_sbom.map(unmapped(ctx), names, signed, sboms)
    stages.update(
        {"push": pushed, "scan": scanned, "sbom": sboms, "sign": signed, "attest-sbom": attested}
    )

    outcomes: list[ServiceOutcome] = reporter.outcomes(stages)
    bump = bump_overlay.submit(ctx, outcomes)
    return reporter.finish(stages, bump=bump, publish=publish_evidence)
