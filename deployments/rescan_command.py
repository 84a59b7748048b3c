"""`seamline rescan`: scan every digest the GitOps repository pins again, through the
``seamline-rescan/nightly`` deployment (or, with ``--local`` or no executor serving this
code, in this process), and report on stderr and (``--json``) stdout. Exit 1 when a digest
is blocked; other exit codes follow the error classes."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from deployments.flow_process import enter_prefect_environment, prepare_flow_process
from deployments.promote_command import LOCAL_HELP, preflight
from seamline.config.settings import Settings

if TYPE_CHECKING:
    from seamline.orchestration.outcome import RunOutcome

log = logging.getLogger("seamline.cli")
# What a re-scan uses: the GitOps remote, the registry, the mirrored vulnerability DB, and
# the signing key each scan is attested with.
REQUIRED = ("toolchain", "registry", "prefect-server", "signing-key", "trivy-db", "gitops-remote")
REASON = "manual"  # names the run: rescan-manual, beside the schedule's rescan-schedule
TITLE = "re-scan of every pinned digest"


def add_parser(sub: Any) -> None:
    """The `rescan` subcommand's arguments."""
    rescan = sub.add_parser(
        "rescan", help="scan every pinned digest again; block those that fail the gate"
    )
    rescan.add_argument("--json", action="store_true", help="one JSON object on stdout")
    rescan.add_argument("--local", action="store_true", help=LOCAL_HELP)


def rescan_parameters(settings: Settings) -> dict[str, Any]:
    """The deployment run's parameters: never a secret (the executor's settings hold them)."""
    return {"reason": REASON, "gitops": settings.gitops_remote}


def run_rescan(settings: Settings, args: argparse.Namespace, secrets: Sequence[str]) -> int:
    from deployments.catalog import RESCAN
    from deployments.remote_run import DeploymentRun, run_command

    run = DeploymentRun(
        deployment=RESCAN,
        parameters=rescan_parameters(settings),
        title=TITLE,
        tags=("seamline-rescan",),
    )
    return run_command(
        settings,
        run,
        secrets,
        local=args.local,
        here=lambda: _rescan_here(settings, secrets),
        as_json=args.json,
    )


def _rescan_here(settings: Settings, secrets: Sequence[str]) -> RunOutcome:
    from deployments.remote_run import in_process

    in_process(TITLE)
    enter_prefect_environment(settings)
    preflight(settings, REQUIRED)
    from flows.rescan import rescan
    from tasks.cd_outcome import rescan_outcome

    prepare_flow_process(settings, secrets)
    state = rescan(REASON, settings=settings, return_state=True)
    run_id = str(state.state_details.flow_run_id)
    return rescan_outcome(
        flow_run_id=run_id,
        flow_run_url=f"{settings.prefect_ui_url}/runs/flow-run/{run_id}",
        ended=state.result(raise_on_failure=False),
    )
