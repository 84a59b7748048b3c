"""`seamline run`: check everything first, run the CI flow, report on stderr and stdout."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deployments.flow_process import enter_prefect_environment, prepare_flow_process
from seamline.adapters.git_repo import check_remote
from seamline.config.settings import Settings
from seamline.errors import (
    EnvironmentProblem,
    GateFailure,
    SeamlineError,
    ServiceUnavailable,
    ToolMissing,
    UsageError,
)
from seamline.stack.stack import Stack
from seamline.validate.names import check_name, check_ref

log = logging.getLogger("seamline.cli")
REQUIRED = (
    "toolchain",
    "docker",
    "registry",
    "prefect-server",
    "signing-key",
    "base-images",
    "trivy-db",
)
SERVICE_KEYS = (
    "name",
    "image",
    "digest",
    "findings",
    "gate",
    "sbom",
    "signed",
    "attestations",
    "cached",
)


def preflight(settings: Settings, *, needs_gitops: bool) -> None:
    """Fail in seconds, before any build, when a tool or service is missing."""
    required = [*REQUIRED, "gitops-remote"] if needs_gitops else list(REQUIRED)
    statuses = {s.name: s for s in Stack(settings).status()}
    bad = [statuses[name] for name in required if not statuses[name].healthy]
    if bad:
        detail = "; ".join(f"{s.name}: {s.detail}" for s in bad)
        error = ToolMissing if bad[0].name == "toolchain" else ServiceUnavailable
        raise error(f"the local stack is not ready: {detail}", hint=bad[0].hint)


def public_report(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "flow_run_id": report["flow_run_id"],
        "state": report["state"],
        "event": report["event"],
        "commit": report["commit"],
        "overlay": report["overlay"],
        "services": [{k: s[k] for k in SERVICE_KEYS} for s in report["services"]],
        "errors": report["errors"],
    }


def exit_code(report: dict[str, Any]) -> int:
    """The most serious error decides: environment (3), then usage (2), then gate (1)."""
    kinds = {e["kind"] for e in report["errors"]}
    if "environment" in kinds or "error" in kinds:
        return EnvironmentProblem.exit_code
    if "usage" in kinds:
        return UsageError.exit_code
    return GateFailure.exit_code if kinds else 0


def _print_summary(report: dict[str, Any]) -> None:
    for s in report["services"]:
        findings = s["findings"] or {}
        counts = " ".join(f"{k[0]}{v}" for k, v in findings.items()) or "-"
        log.info(
            "  %-16s gate %-7s findings %-16s %s%s",
            s["name"],
            s["gate"],
            counts,
            s["digest"] or "(no digest)",
            " (cached)" if s["cached"] else "",
        )
    for e in report["errors"]:
        log.error(
            "  error: %s%s: %s",
            f"{e['service']}: " if e["service"] else "",
            e["stage"],
            e["message"],
        )
    log.info("commit: %s", report["commit"] or "none")
    log.info("flow run: %s", report["flow_run_url"])


@contextmanager
def _heartbeats(enabled: bool) -> Iterator[None]:
    if enabled:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def check_request(repo: str, args: argparse.Namespace) -> None:
    """Bad arguments are exit 2 at once, before Prefect is even imported."""
    check_remote(repo)
    check_ref(args.ref)
    if args.branch:
        check_ref(args.branch, what="branch")
    if args.overlay:
        check_name(args.overlay, what="overlay")


def run_ci(settings: Settings, args: argparse.Namespace, secrets: Sequence[str]) -> int:
    repo = args.repo or settings.default_source_repo()
    check_request(repo, args)
    if not (args.local or args.tool_timings):
        from deployments.remote_run import run_remote

        code = run_remote(settings, repo, args)
        if code is not None:
            return code
    enter_prefect_environment(settings)
    # Importing Prefect takes seconds: let it overlap with the preflight's waiting on I/O.
    importer = threading.Thread(target=importlib.import_module, args=("flows.ci",), daemon=True)
    importer.start()
    preflight(settings, needs_gitops=args.event == "push")
    importer.join()
    from flows.ci import ci

    tool_timings = Path(args.tool_timings) if args.tool_timings else None
    prepare_flow_process(settings, secrets, tool_timings)
    log.info("seamline: %s run of %s @ %s", args.event, repo, args.ref)
    with _heartbeats(settings.flow_heartbeats):
        state = ci(
            repo,
            args.ref,
            args.event,
            args.overlay,
            args.branch,
            args.force,
            settings=settings,
            return_state=True,
        )
    report = state.result(raise_on_failure=False)
    if isinstance(report, SeamlineError):
        raise report  # failed before any service ran: bad repo, ref or seamline.toml
    if not isinstance(report, dict):
        raise EnvironmentProblem(f"the flow run ended without a report: {report!r}")
    _print_summary(report)
    if args.json:
        sys.stdout.write(json.dumps(public_report(report), indent=2) + "\n")
    return exit_code(report)
