"""`seamline run`, `promote` and `rescan` through their Prefect deployments: create the flow
run, wake the executors, stream the run's logs to stderr, then read back its outcome (what an
in-process run would print, ``seamline.orchestration.outcome``).

Nothing here imports Prefect (that costs seconds): the REST calls are plain httpx. The run is
handed over only when an executor runs this very code with these very settings, and taken
back (executed in-process) only while no executor has claimed it, so it never runs twice.
A run's parameters are shown in the UI: one that would carry a credential is not handed over.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

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
from seamline.orchestration.run_end import RunEndListener

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


@dataclass(frozen=True, kw_only=True)
class DeploymentRun:
    """A command's run of one of seamline's deployments."""

    deployment: tuple[str, str]  # flow name, deployment name
    parameters: Mapping[str, Any]
    title: str  # what the command does, as its first stderr line says: "promote dev -> staging"
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def full_name(self) -> str:
        return "/".join(self.deployment)


def in_process(title: str) -> None:
    """The line that says a command runs its flow in its own process."""
    log.info("seamline: %s, in this process", title)


def carries_credential(parameters: Mapping[str, Any], secrets: Sequence[str]) -> bool:
    """True when a parameter holds one of ``secrets`` or an http(s) URL with a user or
    password in it (a token in a remote's URL)."""
    for value in parameters.values():
        if not isinstance(value, str):
            continue
        if any(secret and secret in value for secret in secrets):
            return True
        url = urlsplit(value)
        if url.scheme in ("http", "https") and (url.username or url.password):
            return True
    return False


def _deployment(
    rest: PrefectRest, settings: Settings, run: DeploymentRun, secrets: Sequence[str]
) -> tuple[str, list[ExecutorIdentity]] | None:
    """The deployment's id and the executors that may run it; None, and why on stderr,
    when the run stays in this process."""
    if carries_credential(run.parameters, secrets):
        log.info(
            "seamline: a parameter carries a credential, and the UI shows a run's parameters: "
            "running in this process"
        )
        return None
    try:
        executors = serving_executors(rest, settings)
        deployment = rest.deployment_id(*run.deployment) if executors else None
    except SeamlineError as e:
        log.info(
            "seamline: no answer from the Prefect API (%s): running in this process", e.message
        )
        return None
    if not executors:
        log.info(
            "seamline: no executor runs this code with these settings: running in this process"
        )
        return None
    if deployment is None:
        log.info("seamline: %s is not registered: running in this process", run.full_name)
        return None
    return deployment, executors


def run_on_executor(
    settings: Settings, run: DeploymentRun, secrets: Sequence[str]
) -> RunOutcome | None:
    """The outcome of ``run`` on an executor, its log records streamed to stderr meanwhile;
    None when no executor takes it (the caller runs the flow in-process). ``secrets``: the
    values no parameter may carry."""
    with api_client(settings, timeout=10) as client:
        rest = PrefectRest(client)
        found = _deployment(rest, settings, run, secrets)
        if found is None:
            return None
        deployment, executors = found
        created = rest.create_run(deployment, parameters=dict(run.parameters), tags=list(run.tags))
        with RunEndListener(settings, created.id) as listener:
            nudge(settings, executors)
            if not _claimed(rest, created.id):
                return None
            log.info("seamline: %s on %s", run.title, run.full_name)
            log.info("flow run: %s/runs/flow-run/%s", settings.prefect_ui_url, created.id)
            try:
                ended, outcome = _follow(rest, created.id, LogPrinter(), listener.wait)
            except KeyboardInterrupt:
                rest.set_state(
                    created.id, "CANCELLING", "interrupted by the command that started it"
                )
                log.error("interrupted: cancelling the run")
                raise
        return _finish(rest, ended, outcome)


def run_command(
    settings: Settings,
    run: DeploymentRun,
    secrets: Sequence[str],
    *,
    local: bool,
    here: Callable[[], RunOutcome],
    as_json: bool,
) -> int:
    """A command's flow run on an executor, or, with ``local`` or none taking it, ``here``
    (the flow in this process); either way its outcome printed alike. The exit code."""
    outcome = None if local else run_on_executor(settings, run, secrets)
    return print_outcome(outcome or here(), as_json=as_json)


def print_outcome(outcome: RunOutcome, *, as_json: bool) -> int:
    """What every path prints for a run: its summary on stderr, with ``--json`` its document
    on stdout; the command's exit code."""
    outcome.print_summary(log)
    if as_json:
        sys.stdout.write(outcome.to_json())
    return outcome.exit_code


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

    def __init__(self, write: Callable[[str], object] | None = None) -> None:
        self.offset = 0
        self.closed = False  # the flow run's closing record was printed
        self._write = write or sys.stderr.write

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
    rest: PrefectRest,
    run_id: str,
    printer: LogPrinter,
    pause: Callable[[float], object] = time.sleep,
) -> tuple[FlowRunView, RunOutcome | None]:
    """Print the run's log records until it ends; the run, and its outcome if it wrote one.
    ``pause`` waits between polls (a ``RunEndListener``'s ends it when the run ends)."""
    drained, started = float("-inf"), time.monotonic()
    while True:
        if time.monotonic() - drained >= LOG_POLL_S:
            printer.drain(rest, run_id)
            drained = time.monotonic()
        run = rest.flow_run(run_id)
        if run is not None and run.ended:
            break
        pause(POLL_S if time.monotonic() - started < FAST_POLL_FOR_S else SLOW_POLL_S)
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


def _finish(rest: PrefectRest, run: FlowRunView, outcome: RunOutcome | None) -> RunOutcome:
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
    return outcome
