"""cosign: signatures and attestations on an image digest.

Two modes, built by named factories: ``Cosign.from_key`` (the local stack: a key pair whose
password travels by environment only, no transparency log) and ``Cosign.keyless`` (real
CI: an OIDC identity token, read by cosign from a 0600 file, with Fulcio and Rekor).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from seamline.tools.process import CompletedRun, run

REGISTRY_FLAGS = ["--allow-http-registry", "--allow-insecure-registry"]


@dataclass(frozen=True)
class KeylessIdentity:
    identity_token: SecretStr
    certificate_identity: str
    certificate_oidc_issuer: str
    fulcio_url: str = "https://fulcio.sigstore.dev"
    rekor_url: str = "https://rekor.sigstore.dev"


class Cosign:
    def __init__(
        self,
        *,
        binary: Path,
        key: Path | None = None,
        public_key: Path | None = None,
        password: SecretStr | None = None,
        keyless: KeylessIdentity | None = None,
        insecure_registry: bool = True,
    ) -> None:
        if (key is None) == (keyless is None):
            raise ValueError("choose exactly one of key mode or keyless mode")
        if key is not None and public_key is None:
            raise ValueError("key mode needs the public key too, to verify")
        self._binary = binary
        self._key = key
        self._public_key = public_key
        self._password = password or SecretStr("")
        self._keyless = keyless
        self._registry_flags = REGISTRY_FLAGS if insecure_registry else []

    @classmethod
    def from_key(cls, *, binary: Path, key: Path, public_key: Path, password: SecretStr) -> Cosign:
        return cls(binary=binary, key=key, public_key=public_key, password=password)

    @classmethod
    def keyless_mode(cls, *, binary: Path, identity: KeylessIdentity) -> Cosign:
        return cls(binary=binary, keyless=identity, insecure_registry=False)

    @property
    def identity(self) -> str:
        """Who signs: part of the signing cache key."""
        if self._keyless is not None:
            return f"keyless:{self._keyless.certificate_identity}"
        public = self._public_key.read_text().strip() if self._public_key else ""
        return f"key:{public}"

    def _secrets(self) -> list[str]:
        found = [self._password.get_secret_value()]
        if self._keyless is not None:
            found.append(self._keyless.identity_token.get_secret_value())
        return [s for s in found if s]

    def _run(self, args: list[str], *, cwd: Path | None = None, check: bool = True) -> CompletedRun:
        return run(
            [str(self._binary), *args],
            cwd=cwd,
            env={"COSIGN_PASSWORD": self._password.get_secret_value(), "COSIGN_YES": "true"},
            secrets=self._secrets(),
            timeout=300,
            check=check,
        )

    @contextmanager
    def _signing_flags(self) -> Iterator[list[str]]:
        if self._keyless is None:
            yield ["--key", str(self._key), "--tlog-upload=false"]
            return
        with tempfile.TemporaryDirectory(prefix="seamline-oidc-") as tmp:
            token_file = Path(tmp) / "token"
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as sink:
                sink.write(self._keyless.identity_token.get_secret_value())
            yield [
                "--identity-token",
                str(token_file),
                "--fulcio-url",
                self._keyless.fulcio_url,
                "--rekor-url",
                self._keyless.rekor_url,
            ]

    def _verify_flags(self) -> list[str]:
        if self._keyless is None:
            return ["--key", str(self._public_key), "--insecure-ignore-tlog=true"]
        return [
            "--certificate-identity",
            self._keyless.certificate_identity,
            "--certificate-oidc-issuer",
            self._keyless.certificate_oidc_issuer,
            "--rekor-url",
            self._keyless.rekor_url,
        ]

    def generate_key_pair(self, directory: Path) -> tuple[Path, Path]:
        self._run(["generate-key-pair", "--output-key-prefix", "cosign"], cwd=directory)
        return directory / "cosign.key", directory / "cosign.pub"

    def public_key_of(self, key: Path) -> str | None:
        """The public key derived from ``key`` with the password; None if it won't open."""
        result = self._run(["public-key", "--key", str(key)], check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def sign(self, reference: str) -> None:
        with self._signing_flags() as flags:
            self._run(["sign", *flags, *self._registry_flags, reference])

    def attest(self, reference: str, *, predicate: Path, predicate_type: str) -> None:
        with self._signing_flags() as flags:
            self._run(
                [
                    "attest",
                    *flags,
                    *self._registry_flags,
                    "--type",
                    predicate_type,
                    "--predicate",
                    str(predicate),
                    reference,
                ]
            )

    def verify(self, reference: str) -> list[dict[str, Any]]:
        """The verified signature claims; raises ToolFailed when none verifies."""
        result = self._run(
            ["verify", *self._verify_flags(), *self._registry_flags, "--output", "json", reference]
        )
        claims: list[dict[str, Any]] = json.loads(result.stdout)
        return claims

    def is_signed(self, reference: str) -> bool:
        result = self._run(
            ["verify", *self._verify_flags(), *self._registry_flags, reference], check=False
        )
        return result.returncode == 0

    def verify_attestation(self, reference: str, *, predicate_type: str) -> int:
        """How many attestations of ``predicate_type`` verify; raises ToolFailed on none."""
        result = self._run(
            [
                "verify-attestation",
                *self._verify_flags(),
                *self._registry_flags,
                "--type",
                predicate_type,
                "--output",
                "json",
                reference,
            ]
        )
        return sum(1 for line in result.stdout.splitlines() if line.strip().startswith("{"))

    def triangulate(self, reference: str, *, kind: str = "signature") -> str:
        """Where cosign stores the signature (or ``attestation``) of ``reference``."""
        result = self._run(["triangulate", "--type", kind, *self._registry_flags, reference])
        return result.stdout.strip()
