"""An executor: claims the runs of seamline's deployments from the work pool and executes
each in a forked child.

    python -m deployments.executor NAME

Why not a Prefect process worker or ``flow.serve``: both start a fresh interpreter per run,
and importing Prefect and the flows costs seconds on every run. An executor polls the work
pool the way a worker does (the UI shows it as the pool's worker), imports everything once,
and forks. The parent stays single-threaded and talks to the API with plain httpx, so the
fork is safe; each child runs the flow with Prefect's own engine.

A run is claimed by proposing Pending: the server accepts that for one proposer only, so two
executors on one pool never execute a run twice. A child that dies before its run ends leaves
the run Crashed, not Running forever; a run cancelled in the UI has its child's process group
killed.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from deployments.catalog import catalog, register
from deployments.flow_process import (
    enter_prefect_environment,
    known_secrets,
    prepare_flow_process,
)
from seamline.adapters.tls import tls_context
from seamline.config.settings import Settings
from seamline.errors import SeamlineError
from seamline.orchestration.api_access import api_client, undelivered_logs
from seamline.orchestration.datagrams import bind_wake, sleep_until_woken
from seamline.orchestration.executors import (
    WORK_POOL,
    ExecutorIdentity,
    code_fingerprint,
    settings_fingerprint,
    wake_socket,
)
from seamline.orchestration.log_delivery import deliver_spooled_logs
from seamline.orchestration.rest import FlowRunView, PrefectRest
from seamline.orchestration.run_end import announce_end
from seamline.output.human import configure
from tasks.orphans import remove_orphans

log = logging.getLogger("seamline.executor")
HEARTBEAT_S = 15.0
PRELOAD = (
    "flows.ci",
    "flows.rescan",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.task_runners",
    "prefect.events.clients",
    "prefect.events.worker",
    "prefect.logging.handlers",
    "prefect.artifacts",
    "prefect.concurrency.sync",
    "prefect.runtime.flow_run",
    "seamline.orchestration.log_delivery",
    "docker",
    "git",
    "anyio._backends._asyncio",
    "anyio.streams.tls",
    "opentelemetry.metrics",
    "opentelemetry._logs",
    "pydantic.color",
    "rich._emoji_codes",
    "netrc",
)


@dataclass
class Child:
    pid: int
    run_id: str


class Executor:
    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self.rest = PrefectRest(api_client(settings, timeout=10))
        self.children: dict[int, Child] = {}
        self.cancelled: set[int] = set()  # children stopped because their run was cancelled
        self.flows: dict[str, Any] = {}
        self.identity = ExecutorIdentity(
            name=name,
            pid=os.getpid(),
            code=code_fingerprint(),
            settings=settings_fingerprint(settings),
        )
        self.wake = bind_wake(wake_socket(self.settings, self.name))
        self.stopping = False

    def start(self) -> None:
        ids = register(self.rest, self.settings)
        for spec in catalog(self.settings):
            self.flows[ids[spec.full_name]] = spec.load()
        self.rest.put_variable(self.identity.variable, self.identity.to_json())
        self.rest.heartbeat(WORK_POOL, self.name, HEARTBEAT_S)
        log.info("executor %s (pid %d) serves %s", self.name, os.getpid(), ", ".join(ids))

    def stop(self) -> None:
        try:
            self.rest.delete_variable(self.identity.variable)
        except SeamlineError:
            pass
        wake_socket(self.settings, self.name).unlink(missing_ok=True)

    def serve(self) -> None:
        beat = 0.0
        while not self.stopping:
            now = time.monotonic()
            try:
                if now - beat >= HEARTBEAT_S:
                    self.rest.heartbeat(WORK_POOL, self.name, HEARTBEAT_S)
                    self._deliver_spooled_logs()
                    beat = now
                self._claim_due_runs()
                self._cancel_requested()
            except SeamlineError as e:  # the API away for a moment: next poll
                log.warning("%s", e.message)
            self._reap()
            self._sleep()

    def _deliver_spooled_logs(self) -> None:
        """Logs a child could not send while the API was away: sent by the parent alone."""
        spool = undelivered_logs(self.settings)
        deliver_spooled_logs(spool, lambda: api_client(self.settings, timeout=5))

    def _sleep(self) -> None:
        sleep_until_woken(self.wake, self.settings.executor_poll_s)

    def _claim_due_runs(self) -> None:
        for run in self.rest.scheduled_runs(WORK_POOL):
            if len(self.children) >= self.settings.executor_capacity:
                return  # full: another executor, or this one later, takes the rest
            flow = self.flows.get(run.deployment_id or "")
            if flow is None:
                continue  # another executor's (newer) deployment
            if not self.rest.set_state(run.id, "PENDING", f"claimed by executor {self.name}"):
                continue  # another executor claimed it first
            pid = os.fork()
            if pid == 0:
                _child(self, run, flow)
            self.children[pid] = Child(pid, run.id)
            log.info("run %s (%s) started as pid %d", run.name, run.id, pid)

    def _cancel_requested(self) -> None:
        if not self.children:
            return
        ours = {c.run_id: c for c in self.children.values()}
        for run in self.rest.runs_of_pool(WORK_POOL, ["CANCELLING"]):
            child = ours.get(run.id)
            if child is None:
                continue
            log.info("run %s cancelled: stopping pid %d", run.id, child.pid)
            self.cancelled.add(child.pid)
            _kill_group(child.pid)

    def _reap(self) -> None:
        for pid, child in list(self.children.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            del self.children[pid]
            self._settle(child, status)
            announce_end(self.settings, child.run_id)  # a crashed or cancelled run's end
            # a process killed (cancelled, crashed) never reached its own clean-up: its
            # layout folders, and its sandboxes, where the code under test still runs
            remove_orphans(self.settings, log)
            # what the child spooled while the API was away reaches it as the run ends
            self._deliver_spooled_logs()

    def _settle(self, child: Child, status: int) -> None:
        """A run whose process ended while it was not in a final state crashed, or was
        cancelled when cancellation was asked for."""
        cancelled = child.pid in self.cancelled
        self.cancelled.discard(child.pid)
        try:
            run = self.rest.flow_run(child.run_id)
            if run is None or run.state_type == "CANCELLED":
                return
            if cancelled and run.state_type != "COMPLETED":
                # Prefect's engine reports a run stopped by a signal as crashed
                self.rest.set_state(child.run_id, "CANCELLED", "cancelled", force=True)
                return
            if run.ended:
                return
            if run.state_type == "CANCELLING":
                self.rest.set_state(child.run_id, "CANCELLED", "cancelled", force=True)
                return
            message = f"the run's process (pid {child.pid}) ended with status {status}"
            self.rest.set_state(child.run_id, "CRASHED", message, force=True)
        except SeamlineError as e:
            log.warning("could not settle run %s: %s", child.run_id, e.message)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def _child(executor: Executor, run: FlowRunView, flow: Any) -> None:
    """In the forked child: run the flow under Prefect's engine, then exit."""
    code = 0
    try:
        os.setpgid(0, 0)  # its own group, so a cancel stops the tools it started too
        executor.wake.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        gc.unfreeze()
        settings = executor.settings
        prepare_flow_process(settings, known_secrets(settings), deliver_spool=False)
        from uuid import UUID

        from prefect.flow_engine import load_flow_run, run_flow

        flow_run = load_flow_run(UUID(run.id))
        run_flow(flow, flow_run=flow_run, return_type="state")
        # The run's last records now, not at the next batch: `seamline run` is waiting for
        # the flow's closing record before it prints the outcome.
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        atexit._run_exitfuncs()
        os._exit(code)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    name = args[0] if args else f"{socket.gethostname()}-{os.getpid()}"
    settings = Settings()
    configure(verbose=False, secrets=known_secrets(settings))
    enter_prefect_environment(settings)
    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except ImportError as e:  # another Prefect version: the run imports what it needs
            log.warning("not preloaded: %s (%s)", module, e)
    tls_context()  # built once here, shared by every run's HTTP clients
    executor = Executor(name, settings)

    def stop(*_: Any) -> None:
        executor.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    executor.start()
    gc.collect()
    gc.freeze()  # keep the imported objects' pages shared with the children
    try:
        executor.serve()
    finally:
        executor.stop()


if __name__ == "__main__":
    main()
