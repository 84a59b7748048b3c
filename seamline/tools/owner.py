"""A process as an owner of what it leaves behind (layout folders, sandbox containers):
the machine's boot id, its pid and the start time the kernel gives that pid, so a new
process that reuses the pid is not taken for the owner, and an owner on another machine
(a Docker Engine shared between hosts) or from an earlier boot is never judged from here
by a pid that means something else."""

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


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def owner_token() -> str:
    """This process, as an owner: "<boot id> <pid> <start time>"."""
    pid = os.getpid()
    return f"{_boot_id()} {pid} {process_start(pid)}"


def owner_alive(token: str) -> bool:
    """Whether the process ``token`` names may still be running: False only when it names
    this boot of this machine and that process is gone (or the token is garbled)."""
    try:
        boot, pid_text, start = token.split()
        pid = int(pid_text)
    except ValueError:
        return False
    if boot != _boot_id():
        return True  # another machine's, or not ours to judge
    return process_start(pid) == start
