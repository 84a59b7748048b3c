"""`seamline audit`: what an admission policy that verifies images would admit today, per
overlay, and what it would refuse and why; run in this process, reported on stderr and
(``--json``) stdout. Exit 0 when every image would be admitted, 1 when one would be refused;
other exit codes follow the error classes.

`seamline audit --emit-policy kyverno` writes that admission policy instead: a Kyverno
ClusterPolicy for the configured signer and the repositories the overlays deploy.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployments.flow_process import enter_prefect_environment, prepare_flow_process
from deployments.promote_command import preflight
from seamline.errors import EnvironmentProblem, GateFailure, SeamlineError, UsageError
from seamline.validate.names import check_name

if TYPE_CHECKING:  # the report pulls in the audit policy and the overlays' renderer
    from seamline.config.settings import Settings

log = logging.getLogger("seamline.cli")
# What an audit uses: the GitOps remote, the registry, cosign and the signer's key.
REQUIRED = ("toolchain", "registry", "prefect-server", "signing-key", "gitops-remote")
# What writing the policy uses: kustomize to render the overlays, and the GitOps remote.
EMIT_REQUIRED = ("toolchain", "gitops-remote")


def add_parser(sub: Any) -> None:
    """The `audit` subcommand's arguments."""
    audit = sub.add_parser(
        "audit",
        help="per overlay, what an admission policy that verifies images would admit or "
        "refuse, and why",
    )
    scope = audit.add_mutually_exclusive_group()
    scope.add_argument("--overlay", default="", help="audit this overlay only, e.g. prod")
    scope.add_argument("--all", action="store_true", help="audit every overlay (the default)")
    audit.add_argument("--json", action="store_true", help="one JSON object on stdout")
    audit.add_argument(
        "--emit-policy",
        choices=["kyverno"],
        help="write the matching admission policy (YAML) instead of auditing",
    )
    audit.add_argument(
        "-o", "--output", metavar="FILE", help="with --emit-policy: write it to FILE, not stdout"
    )
    audit.add_argument(
        "--enforce",
        action="store_true",
        help="with --emit-policy: refuse what fails (validationFailureAction Enforce); "
        "the default, Audit, only reports",
    )


def report_of(outcome: object) -> dict[str, Any] | None:
    """The audit report (its JSON form) of a finished run's ``outcome``: the run's result,
    or the one its refusal carries (a run that would refuse an image fails)."""
    from seamline.run.audit_report import AuditReport

    if isinstance(outcome, AuditReport):
        return outcome.to_json()
    carried = outcome.details.get("report") if isinstance(outcome, GateFailure) else None
    return carried if isinstance(carried, dict) else None


def audit_payload(flow_run_id: str, state: str, outcome: object) -> tuple[int, dict[str, Any]]:
    """The exit code and the ``--json`` object for a finished audit run's ``outcome`` (its
    ``AuditReport``, or the error it ended with: a refusal keeps the report)."""
    from seamline.run.audit_report import AuditReport

    payload: dict[str, Any] = {"flow_run_id": flow_run_id, "state": state}
    report = report_of(outcome)
    if isinstance(outcome, AuditReport) and report is not None:
        return outcome.exit_code, {**payload, **report, "errors": []}
    if isinstance(outcome, SeamlineError):
        error: dict[str, Any] = {
            "error": outcome.message,
            "hint": outcome.hint,
            "exit_code": outcome.exit_code,
        }
        if isinstance(outcome, GateFailure):
            details = {k: v for k, v in outcome.details.items() if k != "report"}
            if details:
                error["details"] = details
        empty: dict[str, Any] = {"gitops_commit": None, "admitted": False, "overlays": []}
        return outcome.exit_code, {**payload, **(report or empty), "errors": [error]}
    raise EnvironmentProblem(f"the audit ended without a result: {outcome!r}")


def _check_arguments(args: argparse.Namespace) -> None:
    if args.overlay:
        check_name(args.overlay, what="overlay")
    if args.emit_policy is None and (args.output or args.enforce):
        raise UsageError(
            "--output and --enforce go with --emit-policy",
            hint="seamline audit --emit-policy kyverno [--enforce] [--output FILE]",
        )
    if args.emit_policy is not None and args.json:
        raise UsageError(
            "--emit-policy writes YAML, not JSON",
            hint="drop --json, or audit without --emit-policy",
        )


def emit_policy(settings: Settings, args: argparse.Namespace) -> int:
    """Write the Kyverno policy for what the overlays deploy."""
    from tasks.audit import kyverno_policy, render_gitops_overlays

    preflight(settings, EMIT_REQUIRED)
    rendered = render_gitops_overlays(settings, args.overlay)
    text = kyverno_policy(settings, rendered, enforce=args.enforce)
    mode = "Enforce" if args.enforce else "Audit"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        log.info("wrote the Kyverno ClusterPolicy (%s) to %s", mode, args.output)
    else:
        sys.stdout.write(text)
        log.info("Kyverno ClusterPolicy (%s) for %s", mode, ", ".join(rendered.repositories()))
    return 0


def run_audit(settings: Settings, args: argparse.Namespace, secrets: Sequence[str]) -> int:
    _check_arguments(args)
    if args.emit_policy is not None:
        return emit_policy(settings, args)
    enter_prefect_environment(settings)
    preflight(settings, REQUIRED)
    from flows.audit import audit
    from seamline.run.audit_report import report_lines

    prepare_flow_process(settings, secrets)
    log.info(
        "seamline: audit of %s", f"overlay {args.overlay}" if args.overlay else "every overlay"
    )
    state = audit(args.overlay, settings=settings, return_state=True)
    outcome = state.result(raise_on_failure=False)
    code, payload = audit_payload(
        str(state.state_details.flow_run_id), state.name or state.type.value, outcome
    )
    report = report_of(outcome)
    if report is not None:
        for line in report_lines(report):
            log.info("%s", line)
    if isinstance(outcome, SeamlineError):
        log.error("error: %s", outcome.diagnostics())
    if args.json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    return code
