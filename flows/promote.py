"""Promotion: the digests one overlay pins, checked again and committed unchanged into the
next overlay; the run's outcome (what `seamline promote` prints) is published on it. Wiring
only; the stages live in ``tasks.promote``."""

from __future__ import annotations

from prefect import flow, unmapped
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from seamline.adapters.git_repo import check_remote
from seamline.config.settings import Settings
from seamline.errors import SeamlineError
from seamline.orchestration.run_end import END_HOOKS
from seamline.policy.promotion import DigestChecks
from tasks.cd_outcome import promotion_outcome, publish_cd_outcome
from tasks.promote import (
    PromotionResult,
    check_promotion,
    open_pull_request,
    promote_overlay,
    read_promotion,
)
from tasks.rescan import trivy_db


@flow(name="seamline-promote", flow_run_name="promote-{source}-to-{target}", **END_HOOKS)
def promote(
    source: str,
    target: str,
    services: str = "",
    pr: bool = False,
    gitops: str = "",
    settings: Settings | None = None,
) -> PromotionResult:
    """Move the image digests ``source`` pins into ``target`` by a Git commit (or a pull
    request), never by a rebuild, once each passes every check.

    Args:
        source: The overlay whose pinned digests move (e.g. dev).
        target: The overlay they move into (e.g. staging); seamline.toml's
            [pipeline] promotions must allow source -> target.
        services: Comma-separated service names to promote; empty for every service.
        pr: Push the commit to a new branch and open a pull request into the GitOps
            branch, instead of pushing to that branch.
        gitops: The GitOps repository to promote in: a path on the executor's machine or a
            git URL; empty for the executor's SEAMLINE_GITOPS_REMOTE.
        settings: Set by in-process runs only; deployment runs use the executor's settings.
    """
    settings = settings or Settings()
    run_id = str(flow_run.get_id())
    url = f"{settings.prefect_ui_url}/runs/flow-run/{run_id}"

    def publish(ended: object) -> None:
        publish_cd_outcome(
            promotion_outcome(
                source=source, target=target, flow_run_id=run_id, flow_run_url=url, ended=ended
            )
        )

    try:
        result = _promote(
            settings.for_gitops(check_remote(gitops) if gitops else ""),
            source,
            target,
            services,
            pr,
            run_id,
        )
    except SeamlineError as e:
        publish(e)
        raise
    publish(result)
    return result


def _promote(
    settings: Settings, source: str, target: str, services: str, pr: bool, run_id: str
) -> PromotionResult:
    plan = read_promotion(settings, source, target, services, pr)
    checked: list[DigestChecks] = []
    if plan.images:
        db = trivy_db(settings)
        checked = check_promotion.map(
            unmapped(settings),
            list(plan.images),
            list(plan.images.values()),
            unmapped(plan.gate),
            unmapped(db),
        ).result()
        create_table_artifact(
            key="promotion",
            table=[
                {
                    "image": c.image,
                    "digest": c.digest,
                    "check": o.check,
                    "result": "passed" if o.passed else "FAILED",
                    "detail": o.detail,
                }
                for c in checked
                for o in c.outcomes
            ],
            description=f"Promotion checks, {source} -> {target}",
        )
    result = promote_overlay(settings, plan, checked, run_id, pr)
    if result.pull_request is not None:
        result = open_pull_request(settings, result)
    return result
