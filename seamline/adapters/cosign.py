"""cosign, key-based (local stack) signing. The password travels by environment only."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from seamline.runner import CompletedRun, run


class Cosign:
    def __init__(self, *, binary: Path, password: SecretStr) -> None:
        self._binary = binary
        self._password = password

    def _run(self, args: list[str], *, cwd: Path | None = None, check: bool = True) -> CompletedRun:
        secret = self._password.get_secret_value()
        return run(
            [str(self._binary), *args],
            cwd=cwd,
            env={"COSIGN_PASSWORD": secret, "COSIGN_YES": "true"},
            secrets=[secret],
            timeout=300,
            check=check,
        )

    def generate_key_pair(self, directory: Path) -> tuple[Path, Path]:
        self._run(["generate-key-pair", "--output-key-prefix", "cosign"], cwd=directory)
        return directory / "cosign.key", directory / "cosign.pub"

    def public_key_of(self, key: Path) -> str | None:
        """The public key derived from ``key`` with the password; None if it won't open."""
        result = self._run(["public-key", "--key", str(key)], check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def sign(self, reference: str, key: Path) -> None:
        self._run(
            [
                "sign",
                "--key",
                str(key),
                "--tlog-upload=false",
                "--allow-http-registry",
                "--allow-insecure-registry",
                reference,
            ]
        )

    def verify(self, reference: str, public_key: Path) -> CompletedRun:
        return self._run(
            [
                "verify",
                "--key",
                str(public_key),
                "--insecure-ignore-tlog=true",
                "--allow-http-registry",
                "--allow-insecure-registry",
                "--output",
                "json",
                reference,
            ]
        )
