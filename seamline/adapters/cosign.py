"""cosign: signatures and attestations on an image digest.

Two modes, built by named factories: ``Cosign.from_key`` (a key file whose password
travels by environment only, or a KMS key URI such as ``awskms://…``; no transparency log)
and ``Cosign.keyless`` (real CI: an OIDC identity token, read by cosign from a 0600 file,
with Fulcio and Rekor).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from seamline.adapters.roles import Statement
from seamline.errors import ToolFailed
from seamline.tools.process import CompletedRun, run

REGISTRY_FLAGS = ["--allow-http-registry", "--allow-insecure-registry"]

# What cosign verify-attestation says when no attestation of the type verifies by the
# identity asked for: none attached, none of that type, or none signed by that identity.
_NONE_VERIFIED = (
    "no matching attestations",
    "none of the attestations matched the predicate type",
)


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
        key: str | None = None,
        public_key: str | None = None,
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
    def from_key(
        cls,
        *,
        binary: Path,
        key: str | Path,
        public_key: str | Path | None = None,
        password: SecretStr | None = None,
    ) -> Cosign:
        """``key`` is a private key file (then ``public_key`` is its public half's file)
        or a KMS key URI, which verifies with the same URI."""
        key = str(key)
        if public_key is None and is_key_uri(key):
            public_key = key
        return cls(
            binary=binary,
            key=key,
            public_key=None if public_key is None else str(public_key),
            password=password,
        )

    @classmethod
    def keyless_mode(cls, *, binary: Path, identity: KeylessIdentity) -> Cosign:
        return cls(binary=binary, keyless=identity, insecure_registry=False)

    @property
    def identity(self) -> str:
        """Who signs: part of the signing cache key."""
        if self._keyless is not None:
            return f"keyless:{self._keyless.certificate_identity}"
        if self._public_key is None:
            return "key:"
        if is_key_uri(self._public_key):
            return f"key:{self._public_key}"
        return f"key:{Path(self._public_key).read_text().strip()}"

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

    def attest(
        self, reference: str, *, predicate: Path, predicate_type: str, replace: bool = False
    ) -> None:
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
                    *(["--replace"] if replace else []),
                    reference,
                ]
            )

    def verify(self, reference: str) -> tuple[str, ...]:
        """The manifest digests the verified signatures cover; raises ToolFailed when none
        verifies."""
        result = self._run(
            ["verify", *self._verify_flags(), *self._registry_flags, "--output", "json", reference]
        )
        return signed_digests(result.stdout, reference)

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

    def verified_statements(self, reference: str, *, predicate_type: str) -> tuple[Statement, ...]:
        """The statements of the attestations of ``predicate_type`` that verify by the
        expected identity; empty when cosign finds none that does."""
        try:
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
        except ToolFailed as e:
            if any(marker in e.stderr_tail for marker in _NONE_VERIFIED):
                return ()
            raise
        return verified_statements(result.stdout, reference)

    def signature_ref(self, reference: str) -> str:
        return self._triangulate(reference, "signature")

    def attestation_ref(self, reference: str) -> str:
        return self._triangulate(reference, "attestation")

    def _triangulate(self, reference: str, kind: str) -> str:
        """Where cosign stores the signature (or ``attestation``) of ``reference``."""
        result = self._run(["triangulate", "--type", kind, *self._registry_flags, reference])
        return result.stdout.strip()


def is_key_uri(key: str) -> bool:
    """A KMS or secret-store key reference (``awskms://…``), not a file."""
    return "://" in key


def verified_statements(text: str, reference: str) -> tuple[Statement, ...]:
    """The in-toto statements inside the DSSE envelopes ``cosign verify-attestation
    --output json`` prints, one JSON object a line."""
    statements = []
    for line in text.splitlines():
        if not line.strip().startswith("{"):
            continue
        try:
            envelope = json.loads(line)
            statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
            predicate = statement["predicate"]
            if not isinstance(predicate, dict):
                raise TypeError(f"predicate is {type(predicate).__name__}")
            subjects = tuple(
                f"sha256:{subject['digest']['sha256']}" for subject in statement["subject"]
            )
            statements.append(
                Statement(
                    predicate_type=str(statement["predicateType"]),
                    subjects=subjects,
                    predicate=predicate,
                )
            )
        except (ValueError, KeyError, TypeError) as e:
            raise ToolFailed(
                f"cosign verify-attestation printed an unreadable envelope for {reference}: {e}"
            ) from e
    return tuple(statements)


def signed_digests(text: str, reference: str) -> tuple[str, ...]:
    """The manifest digests named by ``cosign verify --output json`` claims."""
    try:
        claims: Any = json.loads(text)
        digests = tuple(
            str(claim["critical"]["image"]["docker-manifest-digest"]) for claim in claims
        )
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ToolFailed(f"cosign verify printed no readable claims for {reference}: {e}") from e
    if not digests:
        raise ToolFailed(f"cosign verified no signature of {reference}")
    return digests
