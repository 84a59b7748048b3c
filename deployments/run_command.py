"""`seamline run`: check everything first, run the CI flow, report on stderr and stdout."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from seamline.adapters.git_repo import check_remote
from seamline.config.settings import Settings
from seamline.errors import EnvironmentProblem, SeamlineError, ServiceUnavailable, ToolMissing
from seamline.orchestration.api_access import api_client, prefect_environment, undelivered_logs
from seamline.run.report import RunReport
from seamline.stack.stack import Stack
from seamline.tools.process import (
    ToolObserver,
    add_failure_observer,
    add_observer,
    set_base_environment,
)
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


def preflight(settings: Settings, *, needs_gitops: bool) -> None:
    """Fail in seconds, before any build, when a tool or service is missing."""
    required = [*REQUIRED, "gitops-remote"] if needs_gitops else list(REQUIRED)
    statuses = {s.name: s for s in Stack(settings).status()}
    bad = [statuses[name] for name in required if not statuses[name].healthy]
    if bad:
        detail = "; ".join(f"{s.name}: {s.detail}" for s in bad)
        error = ToolMissing if bad[0].name == "toolchain" else ServiceUnavailable
        raise error(f"the local stack is not ready: {detail}", hint=bad[0].hint)


def _print_summary(report: RunReport) -> None:
    for s in report.services:
        findings = s.findings or {}
        counts = " ".join(f"{k[0]}{v}" for k, v in findings.items()) or "-"
        log.info(
            "  %-16s gate %-7s findings %-16s %s%s",
            s.name,
            s.gate,
            counts,
            s.digest or "(no digest)",
            " (cached)" if s.cached else "",
        )
    for e in report.errors:
        log.error(
            "  error: %s%s: %s",
            f"{e.service}: " if e.service else "",
            e.stage,
            e.message,
        )
    log.info("commit: %s", report.commit or "none")
    log.info("flow run: %s", report.flow_run_url)


def _timings_writer(path: Path) -> ToolObserver:
    from prefect.context import TaskRunContext

    lock = threading.Lock()

    def write(tool: str, seconds: float) -> None:
        context = TaskRunContext.get()
        task, service = None, None
        if context is not None:
            task = context.task.name
            params = context.parameters
            service = params.get("service") or getattr(params.get("image"), "service", None)
        line = json.dumps(
            {
                "tool": tool,
                "task": task,
                "service": service,
                "seconds": seconds,
                "ended": time.time(),
            }
        )
        with lock, path.open("a") as sink:
            sink.write(line + "\n")

    return write


def _to_task_log(tool: str, output: str, lines: int = 400) -> None:
    """A failing tool's own output, into the log of the task that ran it (the UI's)."""
    from prefect.context import TaskRunContext
    from prefect.logging import get_run_logger

    if TaskRunContext.get() is None or not output.strip():
        return
    kept = output.strip().splitlines()
    cut = f" (last {lines} of {len(kept)} lines)" if len(kept) > lines else ""
    get_run_logger().warning("%s failed; its output%s:\n%s", tool, cut, "\n".join(kept[-lines:]))


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
    os.environ.update(prefect_environment(settings))  # Prefect reads its settings at import
    # Importing Prefect takes seconds: let it overlap with the preflight's waiting on I/O.
    importer = threading.Thread(target=importlib.import_module, args=("flows.ci",), daemon=True)
    importer.start()
    preflight(settings, needs_gitops=args.event == "push")
    importer.join()
    from flows.ci import ci
    from seamline.orchestration.log_delivery import (
        deliver_spooled_logs,
        keep_undelivered_logs,
        redact_prefect_logs,
    )

    redact_prefect_logs(secrets)
    keep_undelivered_logs(undelivered_logs(settings))
    # An earlier run's, if any: the API was away when they were written.
    deliver_spooled_logs(undelivered_logs(settings), lambda: api_client(settings, timeout=5))
    set_base_environment({"GOMAXPROCS": str(settings.go_max_procs())})
    if args.tool_timings:
        add_observer(_timings_writer(Path(args.tool_timings)))
    add_failure_observer(_to_task_log)
    log.info("seamline: %s run of %s @ %s", args.event, repo, args.ref)
    with _heartbeats(settings.flow_heartbeats):
        state = ci(
            settings,
            repo,
            args.ref,
            args.event,
            args.overlay,
            args.branch,
            args.force,
            return_state=True,
        )
    report = state.result(raise_on_failure=False)
    if isinstance(report, SeamlineError):
        raise report  # failed before any service ran: bad repo, ref or seamline.toml
    if not isinstance(report, RunReport):
        raise EnvironmentProblem(f"the flow run ended without a report: {report!r}")
    _print_summary(report)
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    return report.exit_code
