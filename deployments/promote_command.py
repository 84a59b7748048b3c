"""`seamline promote`: move one overlay's pinned digests into the next, through the
``seamline-promote/promote`` deployment (or, with ``--local`` or no executor serving this
code, in this process), and report on stderr and (``--json``) stdout. Exit codes follow
the error classes."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from deployments.flow_process import enter_prefect_environment, prepare_flow_process
from seamline.config.settings import Settings
from seamline.validate.names import check_name

if TYPE_CHECKING:
    from seamline.orchestration.outcome import RunOutcome

log = logging.getLogger("seamline.cli")
# What a promotion uses: no builds, so neither Docker nor the base images.
REQUIRED = ("toolchain", "registry", "prefect-server", "signing-key", "trivy-db", "gitops-remote")
LOCAL_HELP = "run the flow in this process, not on the stack's executors"


def add_parser(sub: Any) -> None:
    """The `promote` subcommand's arguments."""
    promote = sub.add_parser(
        "promote", help="move one overlay's digests into the next, by a Git commit"
    )
    promote.add_argument("--from", dest="source", required=True, help="source overlay, e.g. dev")
    promote.add_argument("--to", dest="target", required=True, help="target overlay, e.g. staging")
    promote.add_argument(
        "--services", default="", help="comma-separated services to promote (default: all)"
    )
    promote.add_argument(
        "--pr",
        action="store_true",
        help="push a new branch and open a pull request (SEAMLINE_FORGE_*) instead of "
        "committing to the GitOps branch",
    )
    promote.add_argument("--json", action="store_true", help="one JSON object on stdout")
    promote.add_argument("--local", action="store_true", help=LOCAL_HELP)


def preflight(settings: Settings, required: Sequence[str] = REQUIRED) -> None:
    """Fail in seconds when a tool or service a promotion (or ``required``) needs is missing."""
    from seamline.stack.stack import Stack

    Stack(settings).require(required)


def promote_parameters(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """The deployment run's parameters: names and the GitOps remote, never a secret (the
    executor's settings hold those)."""
    return {
        "source": args.source,
        "target": args.target,
        "services": args.services,
        "pr": bool(args.pr),
        "gitops": settings.gitops_remote,
    }


def run_promote(settings: Settings, args: argparse.Namespace, secrets: Sequence[str]) -> int:
    from deployments.catalog import PROMOTE
    from deployments.remote_run import DeploymentRun, run_command

    check_name(args.source, what="overlay")
    check_name(args.target, what="overlay")
    for service in (s.strip() for s in args.services.split(",")):
        if service:
            check_name(service, what="service name")
    title = f"promote {args.source} -> {args.target}"
    run = DeploymentRun(
        deployment=PROMOTE,
        parameters=promote_parameters(settings, args),
        title=title,
        tags=("seamline-promote",),
    )
    return run_command(
        settings,
        run,
        secrets,
        local=args.local,
        here=lambda: _promote_here(settings, args, secrets, title),
        as_json=args.json,
    )


def _promote_here(
    settings: Settings, args: argparse.Namespace, secrets: Sequence[str], title: str
) -> RunOutcome:
    from deployments.remote_run import in_process

    in_process(title)
    enter_prefect_environment(settings)
    preflight(settings)
    from flows.promote import promote
    from tasks.cd_outcome import promotion_outcome

    prepare_flow_process(settings, secrets)
    state = promote(
        args.source, args.target, args.services, args.pr, settings=settings, return_state=True
    )
    run_id = str(state.state_details.flow_run_id)
    return promotion_outcome(
        source=args.source,
        target=args.target,
        flow_run_id=run_id,
        flow_run_url=f"{settings.prefect_ui_url}/runs/flow-run/{run_id}",
        ended=state.result(raise_on_failure=False),
    )
