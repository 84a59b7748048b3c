"""The named checks seamline runs on one pinned image, and what each found.

Promotion and the overlay audit verify the same evidence (a signature by the configured
signer, SBOM and provenance attestations) under the same names, so a reviewer reads one
vocabulary in both reports. A check outcome names one of these checks, or it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from seamline.errors import UsageError

SIGNATURE = "signature"
SBOM_ATTESTATION = "sbom-attestation"
PROVENANCE_ATTESTATION = "provenance-attestation"
SCAN_GATE = "scan-gate"
RESCAN_BLOCK = "rescan-block"
PINNED = "pinned-by-digest"
IN_REGISTRY = "in-registry"
VULNERABILITIES = "vulnerabilities"
KNOWN_CHECKS: tuple[str, ...] = (
    PINNED,
    IN_REGISTRY,
    SIGNATURE,
    SBOM_ATTESTATION,
    PROVENANCE_ATTESTATION,
    SCAN_GATE,
    RESCAN_BLOCK,
    VULNERABILITIES,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOutcome:
    check: str
    passed: bool
    detail: str

    def __post_init__(self) -> None:
        if self.check not in KNOWN_CHECKS:
            raise UsageError(f"unknown check {self.check!r}", hint=", ".join(KNOWN_CHECKS))
