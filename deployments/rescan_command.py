"""`seamline rescan`: scan every digest the GitOps repository pins again, in this process,
and report on stderr and (``--json``) stdout. Exit 1 when a digest is blocked; other exit
codes follow the error classes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from deployments.flow_process import enter_prefect_environment, prepare_flow_process
from deployments.promote_command import preflight
from seamline.config.settings import Settings
from seamline.errors import EnvironmentProblem, GateFailure, SeamlineError

log = logging.getLogger("seamline.cli")
# What a re-scan uses: the GitOps remote, the registry, the mirrored vulnerability DB, and
# the signing key each scan is attested with.
REQUIRED = ("toolchain", "registry", "prefect-server", "signing-key", "trivy-db", "gitops-remote")


def add_parser(sub: Any) -> None:
    """The `rescan` subcommand's arguments."""
    rescan = sub.add_parser(
        "rescan", help="scan every pinned digest again; block those that fail the gate"
    )
    rescan.add_argument("--json", action="store_true", help="one JSON object on stdout")


def rescan_payload(flow_run_id: str, state: str, outcome: object) -> tuple[int, dict[str, Any]]:
    """The exit code and the ``--json`` object for a finished re-scan run's ``outcome``
    (its ``RescanResult``, or the error it ended with)."""
    from tasks.rescan import RescanResult

    payload: dict[str, Any] = {
        "flow_run_id": flow_run_id,
        "state": state,
        "digests": [],
        "errors": [],
    }
    if isinstance(outcome, RescanResult):
        payload["digests"] = [d.as_dict() for d in outcome.digests]
        return (1 if outcome.blocked else 0), payload
    if isinstance(outcome, SeamlineError):
        digests = outcome.details.get("digests") if isinstance(outcome, GateFailure) else None
        if isinstance(digests, list):
            payload["digests"] = digests
        payload["errors"] = [
            {"error": outcome.message, "hint": outcome.hint, "exit_code": outcome.exit_code}
        ]
        return outcome.exit_code, payload
    raise EnvironmentProblem(f"the re-scan ended without a result: {outcome!r}")


def run_rescan(settings: Settings, args: argparse.Namespace, secrets: Sequence[str]) -> int:
    enter_prefect_environment(settings)
    preflight(settings, REQUIRED)
    from flows.rescan import rescan

    prepare_flow_process(settings, secrets)
    log.info("seamline: re-scan of every pinned digest")
    state = rescan("manual", settings=settings, return_state=True)
    outcome = state.result(raise_on_failure=False)
    code, payload = rescan_payload(
        str(state.state_details.flow_run_id), state.name or state.type.value, outcome
    )
    for digest in payload["digests"]:
        log.info(
            "%s (%s): gate %s, %d new, %d fixed, %d unchanged%s",
            digest["reference"],
            ", ".join(digest["overlays"]),
            digest["gate"],
            len(digest["new"]),
            len(digest["fixed"]),
            len(digest["unchanged"]),
            ", BLOCKED" if digest["blocked"] else "",
        )
    if isinstance(outcome, SeamlineError):
        log.error("error: %s", outcome.diagnostics())
    if args.json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    return code
