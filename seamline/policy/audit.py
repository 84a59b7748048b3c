"""The overlay audit's verdict: would an admission policy that verifies images admit this one.

An image is admitted only when it is pinned by digest, held by the registry seamline
verifies, signed by the configured identity, carries SBOM and provenance attestations, and
its latest vulnerability result passes; a check that did not run counts against it. A
refused image names each failed check as a reason, and a check left unrun only when no
check failed before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seamline.errors import UsageError
from seamline.policy.checks import (
    IN_REGISTRY,
    PINNED,
    PROVENANCE_ATTESTATION,
    SBOM_ATTESTATION,
    SIGNATURE,
    VULNERABILITIES,
    CheckOutcome,
)
from seamline.validate.image_ref import ImageRef

AUDIT_CHECKS: tuple[str, ...] = (
    PINNED,
    IN_REGISTRY,
    SIGNATURE,
    SBOM_ATTESTATION,
    PROVENANCE_ATTESTATION,
    VULNERABILITIES,
)


def pinned_check(reference: str) -> CheckOutcome:
    """Passed when ``reference`` names its image by digest; a tag can be moved to other
    content after the audit, so a tag alone is refused, and so is a bare name (``latest``)."""
    try:
        ref = ImageRef.parse(reference)
    except UsageError as e:
        return CheckOutcome(check=PINNED, passed=False, detail=e.message)
    if ref.digest:
        return CheckOutcome(check=PINNED, passed=True, detail=f"pinned: {ref.digest}")
    if ref.tag is not None:
        detail = f"pinned by tag :{ref.tag} only, not by digest"
    else:
        detail = "not pinned: no tag and no digest (the runtime would pull :latest)"
    return CheckOutcome(check=PINNED, passed=False, detail=detail)


def presence_check(reference: str, *, registry: str, found: str | None) -> CheckOutcome:
    """Passed when ``reference`` lies in ``registry`` and the registry holds its digest
    (``found``: the digest the registry answered with, None when it has none)."""
    ref = ImageRef.parse(reference)
    if ref.registry != registry:
        return CheckOutcome(
            check=IN_REGISTRY,
            passed=False,
            detail=f"outside the registry {registry} that seamline and the emitted policy verify",
        )
    if found is None or found != ref.digest:
        return CheckOutcome(
            check=IN_REGISTRY,
            passed=False,
            detail=f"the registry holds no manifest {ref.digest} in {ref.repository}",
        )
    return CheckOutcome(check=IN_REGISTRY, passed=True, detail=f"held by {registry}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Admission:
    """The verdict on one image reference, with every check's outcome."""

    reference: str
    admitted: bool
    reasons: tuple[str, ...]  # "check: detail", one per reason for refusing
    outcomes: tuple[CheckOutcome, ...]

    @property
    def digest(self) -> str | None:
        _, at, digest = self.reference.partition("@")
        return digest if at else None


def decide_admission(reference: str, outcomes: Sequence[CheckOutcome]) -> Admission:
    """Admit ``reference`` when every audit check ran and passed; refuse it otherwise,
    naming why."""
    by_check = {o.check: o for o in outcomes}
    unknown = sorted(set(by_check) - set(AUDIT_CHECKS))
    if unknown:
        raise UsageError(f"not an audit check: {', '.join(unknown)}", hint=", ".join(AUDIT_CHECKS))
    failed = [
        f"{o.check}: {o.detail}" for c in AUDIT_CHECKS if (o := by_check.get(c)) and not o.passed
    ]
    unrun = [f"{c}: not run" for c in AUDIT_CHECKS if c not in by_check]
    reasons = tuple(failed or unrun)
    ordered = tuple(by_check[c] for c in AUDIT_CHECKS if c in by_check)
    return Admission(reference=reference, admitted=not reasons, reasons=reasons, outcomes=ordered)
