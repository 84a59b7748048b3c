"""`seamline promote`: move one overlay's pinned digests into the next, in this process,
and report on stderr and (``--json``) stdout. Exit codes follow the error classes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from deployments.flow_process import enter_prefect_environment, prepare_flow_process
from seamline.config.settings import Settings
from seamline.errors import (
    EnvironmentProblem,
    GateFailure,
    SeamlineError,
)
from seamline.validate.names import check_name

if TYPE_CHECKING:  # tasks import Prefect, which reads its settings at import
    from tasks.promote import PromotionResult

log = logging.getLogger("seamline.cli")
# What a promotion uses: no builds, so neither Docker nor the base images.
REQUIRED = ("toolchain", "registry", "prefect-server", "signing-key", "trivy-db", "gitops-remote")


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


def preflight(settings: Settings, required: Sequence[str] = REQUIRED) -> None:
    """Fail in seconds when a tool or service a promotion (or ``required``) needs is missing."""
    from seamline.stack.stack import Stack

    Stack(settings).require(required)


def _error(e: SeamlineError) -> dict[str, Any]:
    entry: dict[str, Any] = {"error": e.message, "hint": e.hint, "exit_code": e.exit_code}
    if isinstance(e, GateFailure) and e.details:
        entry["details"] = e.details
    return entry


def pull_request_entry(result: PromotionResult) -> dict[str, Any] | None:
    """The pull request a ``--pr`` promotion opened, or would open with no forge."""
    draft = result.pull_request
    if draft is None:
        return None
    opened = result.opened
    return {
        "title": draft.title,
        "head": draft.head,
        "base": draft.base,
        "body": draft.body,
        "opened": opened is not None,
        "existed": opened.existed if opened else False,
        "number": opened.number if opened else None,
        "url": opened.url if opened else None,
    }


def _report_pull_request(result: PromotionResult) -> None:
    draft = result.pull_request
    if draft is None:
        return
    if result.opened is None:
        log.info(
            "no forge configured (SEAMLINE_FORGE_REPOSITORY): branch %s is pushed; the pull "
            "request seamline would open:\n  title: %s\n  head:  %s\n  base:  %s\n\n%s",
            draft.head,
            draft.title,
            draft.head,
            draft.base,
            draft.body,
        )
    elif result.opened.existed:
        log.info("pull request #%d was already open: %s", result.opened.number, result.opened.url)
    else:
        log.info("opened pull request #%d: %s", result.opened.number, result.opened.url)


def run_promote(settings: Settings, args: argparse.Namespace, secrets: Sequence[str]) -> int:
    check_name(args.source, what="overlay")
    check_name(args.target, what="overlay")
    for service in (s.strip() for s in args.services.split(",")):
        if service:
            check_name(service, what="service name")
    enter_prefect_environment(settings)
    preflight(settings)
    from flows.promote import promote
    from tasks.promote import PromotionResult

    prepare_flow_process(settings, secrets)
    log.info("seamline: promote %s -> %s", args.source, args.target)
    state = promote(
        args.source, args.target, args.services, args.pr, settings=settings, return_state=True
    )
    outcome = state.result(raise_on_failure=False)
    payload: dict[str, Any] = {
        "flow_run_id": str(state.state_details.flow_run_id),
        "state": state.name,
        "source": args.source,
        "target": args.target,
        "commit": None,
        "branch": None,
        "pull_request": None,
        "images": [],
        "errors": [],
    }
    if isinstance(outcome, PromotionResult):
        code = 0
        payload["commit"] = outcome.commit
        payload["branch"] = outcome.branch
        payload["pull_request"] = pull_request_entry(outcome)
        payload["images"] = [
            {
                "name": i.image,
                "reference": i.reference,
                "digest": i.digest,
                "checks": list(i.checks),
            }
            for i in outcome.images
        ]
        if outcome.commit:
            log.info(
                "committed %s to %s: %s",
                outcome.commit,
                outcome.branch,
                ", ".join(i.image for i in outcome.images),
            )
            _report_pull_request(outcome)
        else:
            log.info("%s already pins these digests: no commit", args.target)
    elif isinstance(outcome, SeamlineError):
        code = outcome.exit_code
        payload["errors"] = [_error(outcome)]
        log.error("error: %s", outcome.diagnostics())
    else:
        raise EnvironmentProblem(f"the promotion ended without a result: {outcome!r}")
    if args.json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    return code
