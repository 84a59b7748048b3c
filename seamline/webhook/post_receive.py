"""What a local bare repository's ``post-receive`` hook runs: one signed GitHub-format
``push`` delivery to the receiver per updated ref.

A hook that fails cannot undo the push, and a slow one holds up ``git push``: every
delivery shares one short time budget, and a failure prints a warning and exits 0. The hook
gets its settings (the state folder, which holds the secret file, and the receiver's
address) from an environment file beside it, 0600; no secret is ever on a command line.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from seamline.config.settings import Settings
from seamline.errors import SeamlineError, UsageError
from seamline.tools.process import run
from seamline.webhook.events import ZERO_COMMIT
from seamline.webhook.signature import sign

HOOK_NAME = "post-receive"
ENV_NAME = "seamline-webhook.env"
MARKER = "# seamline post-receive hook"
MODULE = "deployments.post_receive"
BUDGET_S = 5.0
_LINE = re.compile(r"^([0-9a-f]{40}) ([0-9a-f]{40}) (refs/\S+)$")


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


def read_updates(text: str) -> list[RefUpdate]:
    """The ``<old> <new> <ref>`` lines git feeds the hook; other lines are skipped."""
    updates = []
    for line in text.splitlines():
        found = _LINE.match(line.strip())
        if found:
            updates.append(RefUpdate(*found.groups()))
    return updates


def push_payload(
    update: RefUpdate,
    *,
    bare: Path,
    sender: str,
    default_branch: str | None,
    head_commit: dict[str, Any] | None,
) -> dict[str, Any]:
    """A GitHub ``push`` payload for one ref update of the bare repository ``bare``."""
    name = bare.name.removesuffix(".git")
    return {
        "ref": update.ref,
        "before": update.old,
        "after": update.new,
        "created": update.old == ZERO_COMMIT,
        "deleted": update.new == ZERO_COMMIT,
        "repository": {
            "name": name,
            "full_name": f"local/{name}",
            "clone_url": str(bare),
            "default_branch": default_branch,
        },
        "pusher": {"name": sender},
        "sender": {"login": sender},
        "head_commit": head_commit,
        "commits": [head_commit] if head_commit else [],
    }


def head_commit(bare: Path, commit: str, *, timeout: float = 2.0) -> dict[str, Any] | None:
    """The ``head_commit`` object of a push, read from the bare repository."""
    if commit == ZERO_COMMIT:
        return None
    shown = run(
        [
            "git",
            "--git-dir",
            str(bare),
            "show",
            "-s",
            "--format=%H%x00%cI%x00%an%x00%ae%x00%B",
            commit,
        ],
        timeout=timeout,
    ).stdout
    sha, when, author, email, message = shown.split("\0", 4)
    return {
        "id": sha,
        "timestamp": when,
        "message": message.strip(),
        "author": {"name": author, "email": email},
    }


def default_branch(bare: Path, *, timeout: float = 2.0) -> str | None:
    result = run(
        ["git", "--git-dir", str(bare), "symbolic-ref", "--short", "HEAD"],
        timeout=timeout,
        check=False,
    )
    return result.stdout.strip() or None


def deliver(
    client: httpx.Client, url: str, secret: bytes, payload: dict[str, Any], *, timeout: float
) -> httpx.Response:
    """POST one signed ``push`` delivery."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
        "User-Agent": "seamline-post-receive",
    }
    return client.post(url, content=body, headers=headers, timeout=timeout)


def notify(
    updates: list[RefUpdate],
    *,
    bare: Path,
    url: str,
    secret: bytes,
    client: httpx.Client,
    budget: float = BUDGET_S,
) -> list[str]:
    """Deliver every update within ``budget`` seconds; the warnings for those that failed."""
    deadline = time.monotonic() + budget
    sender = getpass.getuser()
    warnings: list[str] = []
    try:
        branch = default_branch(bare)
    except SeamlineError:
        branch = None
    for update in updates:
        left = deadline - time.monotonic()
        if left <= 0:
            warnings.append(f"{update.ref}: out of time, not delivered")
            continue
        try:
            commit = head_commit(bare, update.new, timeout=min(left, 2.0))
            payload = push_payload(
                update, bare=bare, sender=sender, default_branch=branch, head_commit=commit
            )
            answer = deliver(
                client, url, secret, payload, timeout=max(deadline - time.monotonic(), 0.1)
            )
        except (httpx.HTTPError, SeamlineError, ValueError) as e:
            warnings.append(f"{update.ref}: not delivered ({type(e).__name__})")
            continue
        if answer.status_code >= 400:
            warnings.append(f"{update.ref}: the receiver answered {answer.status_code}")
    return warnings


def install_hook(bare: Path, settings: Settings, *, python: Path) -> Path:
    """Write ``hooks/post-receive`` into the bare repository ``bare`` (and its 0600
    environment file): it runs ``<python> -m deployments.post_receive``. A hook seamline
    did not write is left alone (a usage error)."""
    hooks = bare / "hooks"
    hook = hooks / HOOK_NAME
    if hook.exists() and MARKER not in hook.read_text(errors="replace"):
        raise UsageError(
            f"{hook} exists and was not written by seamline",
            hint="remove it, or call the seamline hook from it",
        )
    hooks.mkdir(parents=True, exist_ok=True)
    env_file = hooks / ENV_NAME
    variables = {
        "PYTHONPATH": str(settings.project_root),
        "SEAMLINE_STATE_DIR": str(settings.state_dir),
        "SEAMLINE_WEBHOOK_HOST": settings.webhook_host,
        "SEAMLINE_WEBHOOK_PORT": str(settings.webhook_port),
    }
    if settings.webhook_secret is not None:
        variables["SEAMLINE_WEBHOOK_SECRET"] = settings.webhook_secret.get_secret_value()
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as sink:
        sink.writelines(f"{key}={shlex.quote(value)}\n" for key, value in variables.items())
    script = "\n".join(
        [
            "#!/bin/sh",
            MARKER,
            "# Tells the seamline webhook receiver about every push; never fails the push.",
            "set -a",
            f". {shlex.quote(str(env_file))}",
            "set +a",
            f"{shlex.quote(str(python))} -m {MODULE} "
            f"--repository {shlex.quote(str(bare.resolve()))}",
            "exit 0",
            "",
        ]
    )
    staging = hook.with_name(f".{HOOK_NAME}.tmp")
    staging.write_text(script)
    staging.chmod(0o755)
    staging.replace(hook)
    return hook
