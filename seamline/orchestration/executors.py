"""Who executes deployment runs, and whether a run may be handed to them.

An executor (``deployments.executor``) registers itself in a Prefect variable
``seamline-executor-<name>``: its pid, the fingerprint of the code it imported and of the
settings it runs with, and the datagram socket that wakes it. ``seamline run`` hands a run to
the deployment only when an executor runs this very code with these very settings;
otherwise the run executes in-process, as it would with the stack down.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seamline.config.project import PROJECT_ROOT
from seamline.config.settings import Settings
from seamline.orchestration.rest import PrefectRest

PACKAGES = ("seamline", "flows", "tasks", "deployments")
VARIABLE_PREFIX = "seamline-executor-"
WORK_POOL = "seamline"
# Settings that never make an executor's run differ from the command's: where runs execute,
# and what a run names itself (its source and GitOps repositories are run parameters).
NOT_BEHAVIOUR = frozenset(
    {
        "executors",
        "executor_poll_s",
        "executor_capacity",
        "source_repo",
        "gitops_remote",
    }
)


def code_fingerprint(root: Path = PROJECT_ROOT) -> str:
    """What code a run would execute: every module's path, size and mtime, and Python."""
    digest = hashlib.sha256(f"{sys.prefix}\0{sys.version}\0{root}".encode())
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def settings_fingerprint(settings: Settings) -> str:
    """What the settings make a run do; secrets enter only as a hash of their values."""
    values: dict[str, Any] = {}
    for name, value in sorted(settings.model_dump().items()):
        if name in NOT_BEHAVIOUR:
            continue
        if hasattr(value, "get_secret_value"):
            value = hashlib.sha256(value.get_secret_value().encode()).hexdigest()
        values[name] = str(value)
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def wake_socket(settings: Settings, name: str) -> Path:
    return settings.state_dir / "run" / f"{name}.wake"


@dataclass(frozen=True, kw_only=True)
class ExecutorIdentity:
    name: str
    pid: int
    code: str
    settings: str

    @property
    def variable(self) -> str:
        return VARIABLE_PREFIX + self.name

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_value(cls, value: Any) -> ExecutorIdentity | None:
        try:
            data = json.loads(value) if isinstance(value, str) else value
            return cls(
                name=str(data["name"]),
                pid=int(data["pid"]),
                code=str(data["code"]),
                settings=str(data["settings"]),
            )
        except (TypeError, ValueError, KeyError):
            return None

    def serves(self, code: str, settings: str) -> bool:
        return self.code == code and self.settings == settings


def executor_identities(rest: PrefectRest) -> dict[str, ExecutorIdentity]:
    """The registered executors by name (unreadable registrations left out)."""
    found = {}
    for value in rest.variables(VARIABLE_PREFIX).values():
        identity = ExecutorIdentity.from_value(value)
        if identity is not None:
            found[identity.name] = identity
    return found


def nudge(settings: Settings, identities: Iterable[ExecutorIdentity]) -> None:
    """Wake idle executors on this machine now instead of at their next poll (a lost
    datagram only costs a poll interval). The socket is found from the executor's name in
    this state folder, never from a path a registration names."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for identity in identities:
            try:
                sock.sendto(b"run", str(wake_socket(settings, identity.name)))
            except OSError:
                continue
