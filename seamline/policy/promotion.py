"""The promotion decision: a pure verdict over each digest's check outcomes.

A digest may move into the target overlay only when every required check ran and passed:
signature, SBOM attestation, provenance attestation, the target's scan gate, and its latest
attested scan passing that gate too (no open re-scan block, when no scan is attested). A
check that did not run counts as failed. One failing digest stops the whole promotion:
nothing moves, and every failure is named by digest and check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from seamline.policy.checks import (
    PROVENANCE_ATTESTATION,
    RESCAN_BLOCK,
    SBOM_ATTESTATION,
    SCAN_GATE,
    SIGNATURE,
    CheckOutcome,
)

__all__ = [
    "CHECKS",
    "PROVENANCE_ATTESTATION",
    "RESCAN_BLOCK",
    "SBOM_ATTESTATION",
    "SCAN_GATE",
    "SIGNATURE",
    "CheckFailure",
    "CheckOutcome",
    "DigestChecks",
    "PromotionDecision",
    "decide_promotion",
    "pending_moves",
]

CHECKS: tuple[str, ...] = (
    SIGNATURE,
    SBOM_ATTESTATION,
    PROVENANCE_ATTESTATION,
    SCAN_GATE,
    RESCAN_BLOCK,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestChecks:
    """What the checks found for one pinned image: ``reference`` is ``name@sha256:…``."""

    image: str
    reference: str
    outcomes: tuple[CheckOutcome, ...]

    @property
    def digest(self) -> str:
        return self.reference.partition("@")[2]

    def passed_checks(self) -> tuple[str, ...]:
        return tuple(o.check for o in self.outcomes if o.passed)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckFailure:
    image: str
    reference: str
    check: str
    detail: str

    def describe(self) -> str:
        return f"{self.reference}: {self.check} failed: {self.detail}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionDecision:
    passed: bool
    movable: tuple[DigestChecks, ...]  # empty unless every digest passed every check
    failures: tuple[CheckFailure, ...]

    def summary(self) -> str:
        if self.passed:
            return f"all checks passed for {len(self.movable)} digest(s)"
        return "promotion refused: " + "; ".join(f.describe() for f in self.failures)


def decide_promotion(checked: Sequence[DigestChecks]) -> PromotionDecision:
    """Which of ``checked`` may move: all of them when each passed every check, none
    otherwise."""
    failures: list[CheckFailure] = []
    for digest in checked:
        by_check = {o.check: o for o in digest.outcomes}
        for check in CHECKS:
            outcome = by_check.get(check)
            if outcome is None or not outcome.passed:
                failures.append(
                    CheckFailure(
                        image=digest.image,
                        reference=digest.reference,
                        check=check,
                        detail=outcome.detail if outcome else "not run",
                    )
                )
    passed = not failures
    return PromotionDecision(
        passed=passed, movable=tuple(checked) if passed else (), failures=tuple(failures)
    )


def pending_moves(source: Mapping[str, str], target: Mapping[str, str]) -> dict[str, str]:
    """The images whose reference in ``source`` the target does not pin yet, byte for byte."""
    return {image: ref for image, ref in sorted(source.items()) if target.get(image) != ref}
