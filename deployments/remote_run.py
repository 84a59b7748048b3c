"""`seamline run` through the ``seamline-ci/ci`` deployment: create the flow run, wake the
executors, stream the run's logs to stderr, then print its outcome and exit with its code.

Nothing here imports Prefect (that costs seconds): the REST calls are plain httpx. The run is
handed over only when an executor runs this very code with these very settings, and taken
back (executed in-process) only while no executor has claimed it, so it never runs twice.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from deployments.catalog import CI
from seamline.config.settings import Settings
from seamline.errors import EnvironmentProblem, SeamlineError
from seamline.orchestration.api_access import api_client
from seamline.orchestration.executors import (
    ExecutorIdentity,
    code_fingerprint,
    executor_identities,
    nudge,
    settings_fingerprint,
)
from seamline.orchestration.outcome import OUTCOME_KEY, RunOutcome
from seamline.orchestration.rest import FlowRunView, PrefectRest

log = logging.getLogger("seamline.cli")
CLAIM_TIMEOUT_S = 10.0
POLL_S = 0.1
# Each read of the run's state or logs costs the Prefect server a query, on the same cores
# as the run's tools: logs are read less often than the state, and a run still going after
# FAST_POLL_FOR_S (a run with work to do, not a no-change rerun) is polled less often.
LOG_POLL_S = 0.5
FAST_POLL_FOR_S = 3.0
SLOW_POLL_S = 0.25
# A run that wrote its outcome delivered its log records before it (tasks.evidence). One
# that ended without (it crashed) may still have records on their way from the executor's
# child; the engine's own closing record ("Finished in state ...") comes last. They are
# waited for this long at most: a server busy recording the run's task runs can hold them
# for a second (the UI keeps them all).
LOG_TAIL_S = 0.5
CLOSING_RECORD = "Finished in state"
OUTCOME_PATIENCE_S = 3.0


def serving_executors(rest: PrefectRest, settings: Settings) -> list[ExecutorIdentity]:
    code, fingerprint = code_fingerprint(), settings_fingerprint(settings)
    return [i for i in executor_identities(rest).values() if i.serves(code, fingerprint)]


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


def run_remote(settings: Settings, repo: str, args: argparse.Namespace) -> int | None:
    """The run's exit code; None when no executor takes it (the caller runs in-process)."""
    with api_client(settings, timeout=10) as client:
        rest = PrefectRest(client)
        try:
            executors = serving_executors(rest, settings)
            deployment = rest.deployment_id(*CI) if executors else None
        except SeamlineError:
            return None
        if deployment is None:
            return None
        run = rest.create_run(
            deployment, parameters=run_parameters(settings, repo, args), tags=["seamline-run"]
        )
        nudge(settings, executors)
        if not _claimed(rest, run.id):
            return None
        log.info("seamline: %s run of %s @ %s on seamline-ci/ci", args.event, repo, args.ref)
        log.info("flow run: %s/runs/flow-run/%s", settings.prefect_ui_url, run.id)
        try:
            ended, outcome = _follow(rest, run.id, LogPrinter())
        except KeyboardInterrupt:
            rest.set_state(
                run.id, "CANCELLING", "interrupted by the `seamline run` that started it"
            )
            log.error("interrupted: cancelling the run")
            return 130
        return _finish(rest, ended, args, outcome)


def _claimed(rest: PrefectRest, run_id: str) -> bool:
    """True once an executor holds the run; False (and the run withdrawn) when none took it
    in time."""
    deadline = time.monotonic() + CLAIM_TIMEOUT_S
    while time.monotonic() < deadline:
        run = rest.flow_run(run_id)
        if run is not None and run.state_type != "SCHEDULED":
            return True
        time.sleep(POLL_S / 2)
    if rest.set_state(run_id, "CANCELLED", "no executor claimed the run: ran in-process"):
        log.warning(
            "seamline: no executor took the run within %.0f s: running in-process", CLAIM_TIMEOUT_S
        )
        return False
    return True  # claimed at the last moment


class LogPrinter:
    """Prints each log record of the run once, in order, on stderr."""

    def __init__(self, write: Callable[[str], object] = sys.stderr.write) -> None:
        self.offset = 0
        self.closed = False  # the flow run's closing record was printed
        self._write = write

    def drain(self, rest: PrefectRest, run_id: str) -> int:
        printed = 0
        while True:
            batch = rest.logs(run_id, self.offset)
            for record in batch:
                closing = str(record.get("message", "")).startswith(CLOSING_RECORD)
                if not closing:
                    self._write(_format(record) + "\n")
                elif record.get("task_run_id") is None:
                    self.closed = True  # the flow run's: the last record it sends
            self.offset += len(batch)
            printed += len(batch)
            if len(batch) < 200:
                return printed


def _format(record: dict[str, Any]) -> str:
    stamp = str(record.get("timestamp", ""))
    try:
        stamp = datetime.fromisoformat(stamp).astimezone().strftime("%H:%M:%S")
    except ValueError:
        pass
    level = logging.getLevelName(int(record.get("level", 20)))
    return f"{stamp} {level:<7} {record.get('message', '')}"


def _outcome(rest: PrefectRest, run_id: str) -> RunOutcome | None:
    artifact = rest.artifact(run_id, OUTCOME_KEY)
    return RunOutcome.from_artifact(artifact) if artifact else None


def _follow(
    rest: PrefectRest, run_id: str, printer: LogPrinter
) -> tuple[FlowRunView, RunOutcome | None]:
    """Print the run's log records until it ends; the run, and its outcome if it wrote one."""
    drained, started = float("-inf"), time.monotonic()
    while True:
        if time.monotonic() - drained >= LOG_POLL_S:
            printer.drain(rest, run_id)
            drained = time.monotonic()
        run = rest.flow_run(run_id)
        if run is not None and run.ended:
            break
        time.sleep(POLL_S if time.monotonic() - started < FAST_POLL_FOR_S else SLOW_POLL_S)
    printer.drain(rest, run_id)
    outcome = _outcome(rest, run_id)
    if outcome is not None:  # its records were delivered before it
        printer.drain(rest, run_id)
        return run, outcome
    deadline = time.monotonic() + LOG_TAIL_S
    while not printer.closed and time.monotonic() < deadline:
        time.sleep(POLL_S)
        printer.drain(rest, run_id)
    return run, None


def _finish(
    rest: PrefectRest, run: FlowRunView, args: argparse.Namespace, outcome: RunOutcome | None
) -> int:
    deadline = time.monotonic() + OUTCOME_PATIENCE_S
    while outcome is None and time.monotonic() < deadline:
        outcome = _outcome(rest, run.id)
        if outcome is None:
            time.sleep(POLL_S)
    if outcome is None:
        raise EnvironmentProblem(
            f"flow run {run.id} ended {run.state_name or run.state_type} without an outcome",
            hint="read the run's logs in the Prefect UI",
        )
    outcome.print_summary(log)
    if args.json:
        sys.stdout.write(json.dumps(outcome.payload, indent=2) + "\n")
    return outcome.exit_code
