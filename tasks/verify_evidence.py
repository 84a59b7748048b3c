"""A pinned digest's evidence, verified with the real cosign: its signature by the configured
signer and its attestations, each as one named check outcome.

Promotion (``tasks.promote``) and the overlay audit (``tasks.audit``) both call these, so
"signed", "has an SBOM" and "has provenance" mean the same thing wherever seamline says
them. A tool saying no is a failed check; a network fault is raised for the task to retry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from seamline.adapters.roles import Signer
from seamline.errors import ToolFailed
from seamline.policy.checks import (
    PROVENANCE_ATTESTATION,
    SBOM_ATTESTATION,
    SIGNATURE,
    CheckOutcome,
)
from seamline.policy.gate import GateDecision, GatePolicy, evaluate_gate
from seamline.policy.rescan import RescanBlock
from seamline.policy.vuln_scan import VulnScan
from seamline.run.vuln_attestation import latest_vuln_scan
from tasks.attest_sbom import SBOM_TYPE
from tasks.sign import PROVENANCE_TYPE


def guarded(check: str, run: Callable[[], CheckOutcome]) -> CheckOutcome:
    """A check's outcome; a tool saying no is a failed check, a network fault a retry."""
    try:
        return run()
    except ToolFailed as e:
        if e.transient:
            raise
        return CheckOutcome(check=check, passed=False, detail=e.message)


def signature_check(signer: Signer, reference: str) -> CheckOutcome:
    """Whether a signature by ``signer``'s identity covers exactly the digest of
    ``reference`` (``name@sha256:…``)."""
    digest = reference.partition("@")[2]

    def run() -> CheckOutcome:
        verified = signer.verify(reference)
        if digest in verified:
            return CheckOutcome(check=SIGNATURE, passed=True, detail=f"signed: {signer.identity}")
        return CheckOutcome(
            check=SIGNATURE,
            passed=False,
            detail=f"no signature by {signer.identity} covers {digest} "
            f"(verified: {', '.join(verified) or 'none'})",
        )

    return guarded(SIGNATURE, run)


def attestation_check(
    signer: Signer, reference: str, *, check: str, predicate_type: str
) -> CheckOutcome:
    """Whether at least one ``predicate_type`` attestation by ``signer`` verifies."""

    def run() -> CheckOutcome:
        count = signer.verify_attestation(reference, predicate_type=predicate_type)
        return CheckOutcome(
            check=check,
            passed=count > 0,
            detail=f"{count} verified {predicate_type} attestation(s)",
        )

    return guarded(check, run)


def sbom_check(signer: Signer, reference: str) -> CheckOutcome:
    return attestation_check(signer, reference, check=SBOM_ATTESTATION, predicate_type=SBOM_TYPE)


def provenance_check(signer: Signer, reference: str) -> CheckOutcome:
    return attestation_check(
        signer, reference, check=PROVENANCE_ATTESTATION, predicate_type=PROVENANCE_TYPE
    )


def block_check(check: str, block: RescanBlock | None) -> CheckOutcome:
    """Passed unless the nightly re-scan holds an open block on the digest."""
    if block is None:
        return CheckOutcome(check=check, passed=True, detail="no open re-scan block")
    detail = block.describe()
    if block.findings:
        detail += ": " + ", ".join(block.findings)
    return CheckOutcome(check=check, passed=False, detail=detail)


def vulnerability_check(
    check: str,
    signer: Signer,
    reference: str,
    *,
    gate: GatePolicy,
    today: dt.date,
    blocks: Callable[[str], RescanBlock | None],
) -> CheckOutcome:
    """The digest's latest signed scan (the ``vuln`` attestation the re-scan or CI left),
    judged by ``gate``; a digest with no verified vuln attestation falls back to the
    re-scan's open block in seamline's state folder, and the detail says which was read."""
    latest = latest_vuln_scan(signer, reference)
    if latest is not None:
        return attested_scan_outcome(check, latest, gate, today=today)
    fallback = block_check(check, blocks(reference))
    absent = f"no vuln attestation by {signer.identity}; seamline's re-scan state: "
    return CheckOutcome(check=check, passed=fallback.passed, detail=absent + fallback.detail)


def attested_scan_outcome(
    check: str, scan: VulnScan, gate: GatePolicy, *, today: dt.date
) -> CheckOutcome:
    """A digest's attested scan, judged by ``gate``."""
    decision = evaluate_gate(scan.report, gate, today=today)
    detail = f"latest vuln attestation ({scan.describe()}): {gate_detail(decision)}"
    return CheckOutcome(check=check, passed=decision.passed, detail=detail)


def gate_detail(decision: GateDecision) -> str:
    """The gate's verdict in one line, naming the blocking vulnerabilities."""
    detail = decision.summary().splitlines()[0]
    if decision.blocking:
        detail += ": " + ", ".join(sorted({f.id for f in decision.blocking}))
    return detail
