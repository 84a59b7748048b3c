"""The shared secret deliveries are signed with: the ``webhook_secret`` setting, else a
file ``seamline stack up`` generates (0600, in a 0700 folder) under the state folder.

A secret file others can read is refused: anyone who reads it can start runs.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from pydantic import SecretStr

from seamline.config.settings import Settings
from seamline.errors import EnvironmentProblem, StateCorrupt


def secret_file(state_dir: Path) -> Path:
    return state_dir / "secrets" / "webhook.secret"


def ensure_secret(state_dir: Path) -> Path:
    """The secret file, generated when there is none yet; its folder is made 0700."""
    path = secret_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _read(path)  # an existing file must be private and hold a secret
        return path
    with os.fdopen(fd, "w") as sink:
        sink.write(secrets.token_hex(32))
    return path


def load_secret(settings: Settings) -> SecretStr:
    """The secret deliveries must be signed with; an environment problem when none is set."""
    if settings.webhook_secret is not None and settings.webhook_secret.get_secret_value():
        return settings.webhook_secret
    path = secret_file(settings.state_dir)
    if not path.exists():
        raise EnvironmentProblem(
            f"no webhook secret: the webhook_secret setting is empty and {path} does not exist",
            hint="run `seamline stack up` to generate it, or set SEAMLINE_WEBHOOK_SECRET",
        )
    return _read(path)


def _read(path: Path) -> SecretStr:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StateCorrupt(
            f"{path} is readable by others (mode {mode:o})", hint=f"chmod 600 {path}"
        )
    value = path.read_text().strip()
    if not value:
        raise StateCorrupt(f"{path} is empty", hint=f"remove {path} and run `seamline stack up`")
    return SecretStr(value)
