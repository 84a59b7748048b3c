"""`seamline run`: check everything first, run the CI flow, report on stderr and stdout."""

from __future__ import annotations

import argparse
import getpass
import importlib
import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deployments.catalog import CI
from deployments.flow_process import enter_prefect_environment, prepare_flow_process
from deployments.remote_run import DeploymentRun, in_process, run_command
from seamline.adapters.git_repo import check_remote
from seamline.config.settings import Settings
from seamline.errors import EnvironmentProblem, SeamlineError
from seamline.orchestration.outcome import RunOutcome
from seamline.run.report import RunReport
from seamline.validate.names import check_name, check_ref

log = logging.getLogger("seamline.cli")
REQUIRED = (
    "toolchain",
    "docker",
    "registry",
    "buildkitd",
    "goproxy",
    "prefect-server",
    "signing-key",
    "base-images",
    "trivy-db",
)


def preflight(settings: Settings, *, needs_gitops: bool) -> None:
    """Fail in seconds, before any build, when a tool or service is missing."""
    from seamline.stack.stack import Stack

    Stack(settings).require([*REQUIRED, "gitops-remote"] if needs_gitops else REQUIRED)


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


def run_parameters(settings: Settings, repo: str, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "gitops": settings.gitops_remote,
        "repo": repo,
        "ref": args.ref,
        "event": args.event,
        "overlay": args.overlay or "",
        "branch": args.branch or "",
        "force": bool(args.force),
        "reason": f"`seamline run` by {getpass.getuser()} on {socket.gethostname()}",
    }


def run_ci(settings: Settings, args: argparse.Namespace, secrets: Sequence[str]) -> int:
    repo = args.repo or settings.default_source_repo()
    check_request(repo, args)
    title = f"{args.event} run of {repo} @ {args.ref}"
    run = DeploymentRun(
        deployment=CI,
        parameters=run_parameters(settings, repo, args),
        title=title,
        tags=("seamline-run",),
    )
    return run_command(
        settings,
        run,
        secrets,
        local=bool(args.local or args.tool_timings),
        here=lambda: _run_here(settings, args, secrets, repo, title),
        as_json=args.json,
    )


def _run_here(
    settings: Settings, args: argparse.Namespace, secrets: Sequence[str], repo: str, title: str
) -> RunOutcome:
    in_process(title)
    enter_prefect_environment(settings)
    # Importing Prefect takes seconds: let it overlap with the preflight's waiting on I/O.
    importer = threading.Thread(target=importlib.import_module, args=("flows.ci",), daemon=True)
    importer.start()
    preflight(settings, needs_gitops=args.event == "push")
    importer.join()
    from flows.ci import ci

    tool_timings = Path(args.tool_timings) if args.tool_timings else None
    prepare_flow_process(settings, secrets, tool_timings)
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
    if isinstance(report, SeamlineError):  # failed before any service ran: bad repo, ref or
        return RunOutcome.for_error(report)  # seamline.toml, as the run published it
    if not isinstance(report, RunReport):
        raise EnvironmentProblem(f"the flow run ended without a report: {report!r}")
    return RunOutcome.for_report(report)
