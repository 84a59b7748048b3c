"""The signed record of a digest's scans: a cosign ``vuln`` attestation per scan.

CI attests its scan when it signs a digest; every re-scan attests its own, replacing the
digest's earlier ones. Anyone with the public key (or keyless identity) reads them with
stock cosign (``cosign verify-attestation --type vuln``); ``latest_vuln_scan`` is that
reading for seamline's own checks (promotion, audit).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from seamline.adapters.roles import Signer
from seamline.errors import ToolFailed, UsageError
from seamline.policy.findings import ReportFormatError
from seamline.policy.vuln_scan import (
    VULN_PREDICATE_TYPE,
    VulnScan,
    latest_scan,
    read_vuln_predicate,
)
from seamline.validate.image_ref import ImageRef

VULN_TYPE = "vuln"
"""cosign's ``--type`` for the vuln predicate (``VULN_PREDICATE_TYPE``)."""


def attest_vuln_scan(signer: Signer, reference: str, predicate: str) -> None:
    """Attest the scan ``predicate`` (cosign vuln predicate text) on ``reference``, in
    place of the digest's earlier vuln attestations: the latest scan is the record."""
    if not predicate.strip():
        raise ToolFailed(
            f"the scanner gave no vuln predicate for {reference}",
            hint="scan with trivy (--format cosign-vuln), the scanner seamline attests",
        )
    with tempfile.TemporaryDirectory(prefix="seamline-vuln-") as folder:
        path = Path(folder) / "vuln.json"
        path.write_text(predicate)
        signer.attest(reference, predicate=path, predicate_type=VULN_TYPE, replace=True)


def latest_vuln_scan(signer: Signer, reference: str) -> VulnScan | None:
    """The latest scan attested on ``name@sha256:…`` and verified by ``signer``'s expected
    identity; None when no vuln attestation on the digest verifies.

    Raises ToolFailed when the registry cannot be read, or when a verified attestation is
    not a readable vuln predicate (signed by us, so broken rather than foreign)."""
    digest = ImageRef.parse(reference).digest
    if not digest:
        raise UsageError(f"a vuln attestation is read from a digest, not {reference}")
    scans = []
    for statement in signer.verified_statements(reference, predicate_type=VULN_TYPE):
        if statement.predicate_type != VULN_PREDICATE_TYPE or digest not in statement.subjects:
            continue
        try:
            scans.append(read_vuln_predicate(statement.predicate))
        except ReportFormatError as e:
            raise ToolFailed(
                f"a verified vuln attestation on {reference} is unreadable: {e}",
                hint="attest a new scan with `seamline rescan`",
            ) from e
    return latest_scan(scans)
