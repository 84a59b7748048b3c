"""A scan as cosign's vulnerability attestation records it, and which one is the latest.

The predicate (type ``https://cosign.sigstore.dev/attestation/vuln/v1``) is what
``trivy --format cosign-vuln`` writes: the scanner, its DB, the scan's times, and Trivy's
own JSON report under ``scanner.result``, which the scan gate reads unchanged. Of several
attestations on one digest the latest scan (``metadata.scanFinishedOn``) is the one that
counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from seamline.policy.findings import ReportFormatError, ScanReport, parse_trivy_report

VULN_PREDICATE_TYPE = "https://cosign.sigstore.dev/attestation/vuln/v1"


@dataclass(frozen=True, slots=True, kw_only=True)
class VulnScan:
    """One attested scan: its findings, when it finished, by which scanner and DB."""

    report: ScanReport
    scanned_at: dt.datetime
    scanner: str  # e.g. "trivy 0.74.0"
    db: str  # the DB the scanner read ("repository@sha256:…"), "" when it does not say

    def describe(self) -> str:
        """``scanned 2026-03-02T02:00:00+00:00 by trivy 0.74.0 (DB …)``"""
        text = f"scanned {self.scanned_at.isoformat(timespec='seconds')} by {self.scanner}"
        return text + (f" (DB {self.db})" if self.db else "")


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ReportFormatError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _time(value: object) -> dt.datetime | None:
    """An RFC 3339 time as Go writes it (nanoseconds, ``Z``); None when absent or unset."""
    text = _text(value)
    if not text or text.startswith("0001-01-01"):
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise ReportFormatError(f"not a time: {text!r}") from e
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _scanner_name(scanner: Mapping[str, Any]) -> str:
    """``trivy 0.74.0`` from the purl ``pkg:github/aquasecurity/trivy@0.74.0``."""
    uri, version = _text(scanner.get("uri")), _text(scanner.get("version"))
    name = uri.partition("@")[0].rpartition("/")[2] or "scanner"
    return f"{name} {version}".strip()


def _db(scanner: Mapping[str, Any]) -> str:
    db = scanner.get("db")
    if not isinstance(db, Mapping):
        return ""
    uri, version = _text(db.get("uri")), _text(db.get("version"))
    if uri and version.startswith("sha256:"):
        return f"{uri}@{version}"
    return " ".join(part for part in (uri, version) if part)


def read_vuln_predicate(predicate: object) -> VulnScan:
    """Read a cosign vuln predicate whose ``scanner.result`` is a Trivy JSON report.

    The scan's time is ``metadata.scanFinishedOn``, else ``scanStartedOn``, else the
    report's ``CreatedAt``. Raises ``ReportFormatError`` when the shape is wrong or no time
    is given (an undated scan cannot be ordered against others)."""
    data = _object(predicate, "a vuln predicate")
    scanner = _object(data.get("scanner"), "scanner")
    result = _object(scanner.get("result"), "scanner.result")
    metadata = data.get("metadata")
    times = metadata if isinstance(metadata, Mapping) else {}
    scanned_at = (
        _time(times.get("scanFinishedOn"))
        or _time(times.get("scanStartedOn"))
        or _time(result.get("CreatedAt"))
    )
    if scanned_at is None:
        raise ReportFormatError("the vuln predicate says no time the scan ran")
    return VulnScan(
        report=parse_trivy_report(dict(result)),
        scanned_at=scanned_at,
        scanner=_scanner_name(scanner),
        db=_db(scanner),
    )


def latest_scan(scans: Iterable[VulnScan]) -> VulnScan | None:
    """The scan that finished last; None when there is none."""
    return max(scans, key=lambda scan: scan.scanned_at, default=None)
