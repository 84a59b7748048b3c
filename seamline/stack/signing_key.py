"""The cosign key pair for local key-based signing, and its generated password.

The password lives in ``<state>/secrets/cosign.password`` (0600, folder 0700) and is
handed to cosign through its environment only.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from seamline.adapters.cosign import Cosign
from seamline.config.secret_file import read_secret_file
from seamline.config.settings import Settings
from seamline.stack.model import ComponentStatus
from seamline.tools.pins import locate


class SigningKey:
    name = "signing-key"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.directory = settings.state_dir / "secrets"

    @property
    def key(self) -> Path:
        return self.directory / "cosign.key"

    @property
    def public_key(self) -> Path:
        return self.directory / "cosign.pub"

    @property
    def password_file(self) -> Path:
        return self.directory / "cosign.password"

    def password(self) -> SecretStr:
        if self._settings.cosign_password is not None:
            return self._settings.cosign_password
        return read_secret_file(
            self.password_file,
            hint="run `seamline stack down --purge` and `seamline stack up` for a new key",
        )

    def cosign(self) -> Cosign:
        return Cosign.from_key(
            binary=locate("cosign", self._settings.tools_dir),
            key=self.key,
            public_key=self.public_key,
            password=self.password(),
        )

    def _fingerprint(self) -> str:
        files = [self.key, self.public_key, self.password_file]
        return ";".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in files if p.exists())

    def status(self) -> ComponentStatus:
        if not self.key.exists() or not self.public_key.exists():
            return ComponentStatus(self.name, False, "no key pair yet", "run `seamline stack up`")
        checked = self._settings.state_dir / "cache" / "signing-key.checked"
        fingerprint = self._fingerprint()
        if checked.is_file() and checked.read_text() == fingerprint:
            return ComponentStatus(self.name, True, str(self.public_key))
        derived = self.cosign().public_key_of(self.key)
        if derived is None or derived != self.public_key.read_text().strip():
            return ComponentStatus(
                self.name,
                False,
                f"{self.key} does not open with the stored password or does not match "
                f"{self.public_key.name}",
                "run `seamline stack down --purge` then `seamline stack up`",
            )
        checked.parent.mkdir(parents=True, exist_ok=True)
        checked.write_text(fingerprint)
        return ComponentStatus(self.name, True, str(self.public_key))

    def up(self) -> None:
        if self.key.exists():
            self.password()  # fails loudly on a broken state
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if self._settings.cosign_password is None:
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as sink:
                sink.write(secrets.token_urlsafe(32))
        self.cosign().generate_key_pair(self.directory)
        os.chmod(self.key, 0o600)

    def down(self) -> None:
        """Nothing runs."""
