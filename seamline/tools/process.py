"""The one place where seamline starts external processes.

Every command is an argv list (never a shell string). Output is streamed line by line to
the ``seamline.tools.process`` logger with secrets masked, and a failure raises ``ToolFailed``
carrying the masked tail of stderr.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from seamline.errors import ToolFailed, ToolMissing
from seamline.output.redaction import redact

log = logging.getLogger("seamline.tools.process")
TAIL_LINES = 20

# Called with (tool name, seconds) after every external command or SDK call is timed; the
# CLI's --tool-timings uses it to show where a run's time went.
ToolObserver = Callable[[str, float], None]
_observers: list[ToolObserver] = []


def add_observer(observer: ToolObserver) -> None:
    _observers.append(observer)


# Called with (tool, its masked output) when a tool exits non-zero: the entry point sends
# it to the log of the Prefect task that ran the tool, so the UI shows what the tool said.
FailureObserver = Callable[[str, str], None]
_failure_observers: list[FailureObserver] = []


def add_failure_observer(observer: FailureObserver) -> None:
    _failure_observers.append(observer)


def record(tool: str, seconds: float) -> None:
    for observer in list(_observers):
        observer(tool, seconds)


@contextmanager
def timed(tool: str) -> Iterator[None]:
    """Time a tool call that does not go through ``run`` (an SDK call) for the observers."""
    started = time.monotonic()
    yield
    record(tool, time.monotonic() - started)


@dataclass(frozen=True)
class CompletedRun:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


# Variables every tool this process starts gets, set once by the entry point (the CLI).
_base_environment: dict[str, str] = {}


def set_base_environment(env: Mapping[str, str]) -> None:
    _base_environment.clear()
    _base_environment.update(env)


def _environment(env: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(os.environ)
    merged.update(_base_environment)
    if env:
        merged.update(env)
    return merged


def _pump(stream: IO[str], sink: list[str], label: str, secrets: Sequence[str]) -> None:
    for line in stream:
        sink.append(line)
        log.debug("%s %s", label, redact(line.rstrip("\n"), secrets))
    stream.close()


def run(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    secrets: Sequence[str] = (),
    check: bool = True,
    stdin_text: str | None = None,
    hint: str = "",
) -> CompletedRun:
    """Run ``argv`` to completion; raise ``ToolFailed`` on non-zero exit when ``check``."""
    argv = [str(a) for a in argv]
    if not argv:
        raise ValueError("run() needs a non-empty argv")
    shown = redact(" ".join(argv), secrets)
    if (
        shutil.which(argv[0], path=_environment(env).get("PATH")) is None
        and not Path(argv[0]).is_file()
    ):
        raise ToolMissing(
            f"{argv[0]} not found on PATH",
            hint=hint or "run `make setup` to install the pinned tools",
        )
    log.debug("run: %s", shown)
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=_environment(env),
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    out: list[str] = []
    err: list[str] = []
    if proc.stdout is None or proc.stderr is None:  # pragma: no cover - PIPE always set
        raise RuntimeError("subprocess pipes missing")
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, out, "|", secrets), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, err, "!", secrets), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    if stdin_text is not None and proc.stdin is not None:
        proc.stdin.write(stdin_text)
        proc.stdin.close()
    try:
        returncode = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        for pump in pumps:
            pump.join()
        raise ToolFailed(
            f"{shown} did not finish within {timeout:.0f} s",
            hint=hint or "check that the services it talks to are up (`seamline stack status`)",
            returncode=-9,
            stderr_tail=_tail(err, secrets),
        ) from None
    for pump in pumps:
        pump.join()
    result = CompletedRun(
        argv=tuple(argv),
        returncode=returncode,
        stdout="".join(out),
        stderr="".join(err),
        seconds=time.monotonic() - started,
    )
    tool = f"{Path(argv[0]).name} {argv[1] if len(argv) > 1 else ''}".strip()
    record(tool, result.seconds)
    if check and returncode != 0:
        for failed in list(_failure_observers):
            failed(tool, redact(result.stdout + result.stderr, secrets))
        said = last_lines(result.stderr or result.stdout, secrets)
        raise ToolFailed(
            redact(_short(argv), secrets)
            + f" exited with {returncode}"
            + (f": {said}" if said else ""),
            hint=hint,
            returncode=returncode,
            stderr_tail=_tail(err, secrets),
        )
    return result


def _short(argv: Sequence[str]) -> str:
    """The tool and its subcommand, for messages: the full argv is in the debug log."""
    words = [Path(argv[0]).name, *(a for a in argv[1:3] if not a.startswith("-"))]
    return " ".join(words)


def last_lines(
    output: str, secrets: Sequence[str] = (), *, lines: int = 3, limit: int = 600
) -> str:
    """A tool's own last words: its last non-empty lines, masked and shortened, for a
    message a person reads (the whole output goes to the log and the evidence)."""
    kept = [line.strip() for line in output.splitlines() if line.strip()][-lines:]
    text = redact(" | ".join(kept), secrets)
    return text if len(text) <= limit else "…" + text[-limit:]


def _tail(lines: list[str], secrets: Sequence[str]) -> str:
    return redact("".join(lines[-TAIL_LINES:]), secrets).rstrip()


def spawn_daemon(
    argv: Sequence[str],
    *,
    log_file: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    niceness: int = 0,
) -> int:
    """Start a long-running service detached from this process; return its pid.
    ``niceness`` above 0 lowers its CPU priority (inherited by every thread it starts)."""
    argv = [str(a) for a in argv]
    if (
        shutil.which(argv[0], path=_environment(env).get("PATH")) is None
        and not Path(argv[0]).is_file()
    ):
        raise ToolMissing(f"{argv[0]} not found on PATH", hint="run `make setup`")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as sink:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=_environment(env),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: os.nice(niceness)) if niceness else None,
        )
    log.debug("spawned %s as pid %d", argv[0], proc.pid)
    return proc.pid
