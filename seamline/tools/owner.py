"""A process as an owner of what it leaves behind (layout folders, sandbox containers):
its pid and the start time the kernel gives that pid, so a new process that reuses the pid
is not taken for the owner."""

from __future__ import annotations

import os
from pathlib import Path


def process_start(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (clock ticks since boot), None if there
    is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count after its end.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def owner_token() -> str:
    """This process, as an owner: "<pid> <start time>"."""
    pid = os.getpid()
    return f"{pid} {process_start(pid)}"


def owner_alive(token: str) -> bool:
    """Whether the process ``token`` names is still running (False for a garbled one)."""
    try:
        pid_text, start = token.split()
        return process_start(int(pid_text)) == start
    except ValueError:
        return False
