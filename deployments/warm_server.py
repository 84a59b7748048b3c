"""The warm runner: imports Prefect and the flows once, then forks a child per run.

    python -m deployments.warm_server

Started and stopped by ``seamline stack up|down``; speaks the protocol
in ``seamline.orchestration.warm_client``. The parent stays single-threaded (it only imports,
accepts and reaps), so forking it is safe; each child is an ordinary
``seamline`` process from then on.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import select
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from seamline.adapters.tls import tls_context
from seamline.config.settings import Settings
from seamline.orchestration.api_access import prefect_environment
from seamline.orchestration.warm_client import (
    MessageReader,
    code_fingerprint,
    holds_secrets,
    peer_is_us,
    prefect_variables,
    send,
    socket_path,
)

log = logging.getLogger("seamline.warm-runner")
# Imported up front, so a run's child starts with them in memory: the flow and what Prefect
# imports lazily on a flow's first call.
PRELOAD = (
    "deployments.cli",
    "deployments.run_command",
    "flows.ci",
    "flows.smoke",
    "seamline.orchestration.log_delivery",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.task_runners",
    "prefect.events.clients",
    "prefect.events.worker",
    "prefect.logging.handlers",
    "prefect.artifacts",
    "prefect.concurrency.sync",
    "prefect.runtime.flow_run",
    "docker",
    "git",
    "fastapi",
    "starlette.applications",
    "anyio._backends._asyncio",
    "anyio.streams.tls",
    "opentelemetry.metrics",
    "opentelemetry._logs",
    "pydantic.color",
    "prefect.utilities.visualization",
    "rich._emoji_codes",
    "netrc",
)


class WarmServer:
    def __init__(self, settings: Settings) -> None:
        path = socket_path(settings.state_dir)
        if path is None:
            raise SystemExit(f"{settings.state_dir} is too long a path for the runner's socket")
        self._path = path
        self._prefect = prefect_variables(os.environ)
        self._fingerprint = code_fingerprint()
        self._children: set[int] = set()
        self._listener: socket.socket | None = None
        self._restart = False

    def serve(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self._path))
        os.chmod(self._path, 0o600)
        listener.listen(16)
        self._listener = listener
        log.info("warm runner %d listening on %s", os.getpid(), self._path)
        while not self._restart:
            readable, _, _ = select.select([listener], [], [], 1.0)
            self._reap()
            if readable:
                conn, _ = listener.accept()
                if peer_is_us(conn):
                    self._handle(conn)
                else:
                    conn.close()
        listener.close()
        self._path.unlink(missing_ok=True)
        log.info("code changed on disk: restarting to load it")
        # Replaced in place, not spawned: the pid (and so the stack's pid file) stays true.
        os.execv(sys.executable, [sys.executable, "-m", "deployments.warm_server"])  # noqa: S606

    def _reap(self) -> None:
        """Reap every finished child, also those of this pid before an in-place restart."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._children.discard(pid)

    def _handle(self, conn: socket.socket) -> None:
        reader = MessageReader(conn)
        try:
            conn.settimeout(5.0)
            request = reader.next()
            if request is None:
                return
            if request.get("op") == "ping":
                send(conn, self._identity())
            elif request.get("op") == "run":
                self._run(conn, request, reader.fds)
            else:
                send(conn, {"refused": f"unknown op {request.get('op')!r}"})
        except (OSError, ValueError) as e:
            log.warning("dropped a request: %s", e)
        finally:
            for fd in reader.fds:
                os.close(fd)
            conn.close()

    def settings_refusal(self) -> str | None:
        """In a run's child, with the run's environment and folder in place: would the run
        use this runner's state folder and Prefect environment?"""
        try:
            settings = Settings()
        except Exception:  # bad settings: the command itself reports them properly
            return None
        if socket_path(settings.state_dir) != self._path:
            return "the run's state folder is not this runner's"
        if holds_secrets(os.environ):
            return "the run's environment holds secrets: they never cross the socket"
        env = dict(os.environ)
        env.update(prefect_environment(settings))
        if prefect_variables(env) != self._prefect:
            return "the run's PREFECT_* environment differs from the runner's"
        return None

    def close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _identity(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "fingerprint": self._fingerprint}

    def _refusal(self, request: dict[str, Any], fds: list[int]) -> str | None:
        if len(fds) != 3:
            return "expected stdin, stdout and stderr"
        if request.get("fingerprint") != self._fingerprint:
            self._restart = True
            return "the runner's code is not the code on disk"
        return None

    def _run(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        refusal = self._refusal(request, fds)
        if refusal is not None:
            log.info("refused a run: %s", refusal)
            send(conn, {"refused": refusal})
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(conn, request, fds, self)  # never returns
        self._children.add(pid)


def _child(
    conn: socket.socket, request: dict[str, Any], fds: list[int], server: WarmServer
) -> None:
    code: int | None = 3
    answered = threading.Event()
    log_fd = os.dup(2)  # the runner's log, for what comes after the client has gone
    try:
        try:
            code = _run_in_child(conn, request, fds, answered, server)
            if code is None:
                os._exit(0)  # refused: nothing ran, the client runs it in-process
        except SystemExit as e:  # argparse: usage errors and --help
            code = e.code if isinstance(e.code, int) else 2
        except BaseException:
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        answered.set()
        send(conn, {"exit": code})
    except BaseException:
        traceback.print_exc()
    finally:
        # The client has its answer: what comes after (Prefect uploading its last logs and
        # events, at exit) goes to the runner's log instead of holding the client's pipes.
        answered.set()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        conn.close()
        atexit._run_exitfuncs()
        os._exit(code or 0)


def _run_in_child(
    conn: socket.socket,
    request: dict[str, Any],
    fds: list[int],
    answered: threading.Event,
    server: WarmServer,
) -> int | None:
    """The run itself; None when it is refused (then the client runs it in-process)."""
    server.close_listener()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    refusal = server.settings_refusal()
    if refusal is not None:
        log.info("refused a run: %s", refusal)
        send(conn, {"refused": refusal})
        return None
    log.info("run %s started as pid %d", request["argv"], os.getpid())
    log.handlers.clear()
    log.propagate = True
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    fds.clear()
    conn.settimeout(None)
    send(conn, {"pid": os.getpid()})
    watcher = threading.Thread(
        target=_interrupt_when_client_leaves, args=(conn, answered), daemon=True
    )
    watcher.start()
    from deployments.cli import main

    return main(request["argv"])


def _interrupt_when_client_leaves(conn: socket.socket, answered: threading.Event) -> None:
    """A client that goes away mid-run (killed, Ctrl-C'd hard) stops the run, as it would
    stop an in-process one."""
    try:
        gone = conn.recv(1) == b""
    except OSError:
        gone = True
    if gone and not answered.is_set():
        os.kill(os.getpid(), signal.SIGINT)


def main() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    settings = Settings()
    os.environ.update(prefect_environment(settings))  # Prefect reads its settings at import
    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except ImportError as e:  # another Prefect version: the run imports what it needs
            log.warning("not preloaded: %s (%s)", module, e)
    tls_context()  # built once here, shared by every run's HTTP clients
    gc.collect()
    gc.freeze()  # keep the imported objects' pages shared with the children
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.chdir(Path("/"))
    WarmServer(settings).serve()


if __name__ == "__main__":
    main()
