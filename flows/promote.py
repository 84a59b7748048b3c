"""Promotion: the digests one overlay pins, checked again and committed unchanged into the
next overlay. Wiring only; the stages live in ``tasks.promote``."""

from __future__ import annotations

from prefect import flow, unmapped
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from seamline.config.settings import Settings
from seamline.policy.promotion import DigestChecks
from tasks.promote import (
    PromotionResult,
    check_promotion,
    open_pull_request,
    promote_overlay,
    read_promotion,
)
from tasks.rescan import trivy_db


@flow(name="seamline-promote", flow_run_name="promote-{source}-to-{target}")
def promote(
    source: str,
    target: str,
    services: str = "",
    pr: bool = False,
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
        settings: Set by in-process runs only; deployment runs use the executor's settings.
    """
    settings = settings or Settings()
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
    result = promote_overlay(settings, plan, checked, str(flow_run.get_id()), pr)
    if result.pull_request is not None:
        result = open_pull_request(settings, result)
    return result
