"""Vulnerability findings, parsed from a Trivy JSON report (``trivy image --format json``).

Only the fields a gate or a reviewer needs are kept. Severities outside Trivy's five
levels become ``UNKNOWN``; an empty ``FixedVersion`` means no fix exists yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, TypeGuard, get_args

Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]

SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)
"""Trivy's severity levels, most severe first."""


class ReportFormatError(ValueError):
    """The scanner output is not a report this module understands."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    id: str
    package: str
    installed: str
    fixed: str | None
    severity: Severity
    target: str
    title: str | None = None
    url: str | None = None

    def describe(self) -> str:
        """One line a reviewer can act on: what, where, and which version fixes it."""
        fix = f"fixed in {self.fixed}" if self.fixed else "no fix yet"
        return f"{self.id} {self.package} {self.installed} → {fix} ({self.severity})"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanReport:
    artifact: str
    findings: tuple[Finding, ...]

    def counts(self) -> dict[str, int]:
        """Findings per severity, every level present, most severe first."""
        counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts


def _is_severity(value: str) -> TypeGuard[Severity]:
    return value in SEVERITIES


def _severity(value: object) -> Severity:
    if isinstance(value, str):
        upper = value.upper()
        if _is_severity(upper):
            return upper
    return "UNKNOWN"


def _optional_text(vuln: dict[str, Any], key: str, where: str) -> str | None:
    value = vuln.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ReportFormatError(f"{where}: {key} must be a string, got {type(value).__name__}")
    return value


def _required_text(vuln: dict[str, Any], key: str, where: str) -> str:
    value = _optional_text(vuln, key, where)
    if value is None:
        raise ReportFormatError(f"{where}: {key} is missing or empty")
    return value


def _parse_vulnerability(vuln: object, *, target: str, where: str) -> Finding:
    if not isinstance(vuln, dict):
        raise ReportFormatError(f"{where} must be an object, got {type(vuln).__name__}")
    return Finding(
        id=_required_text(vuln, "VulnerabilityID", where),
        package=_required_text(vuln, "PkgName", where),
        installed=_optional_text(vuln, "InstalledVersion", where) or "",
        fixed=_optional_text(vuln, "FixedVersion", where),
        severity=_severity(vuln.get("Severity")),
        target=target,
        title=_optional_text(vuln, "Title", where),
        url=_optional_text(vuln, "PrimaryURL", where),
    )


def parse_trivy_report(data: object) -> ScanReport:
    """Read a decoded Trivy schema-2 JSON report into findings.

    Rows that repeat the same (id, package, installed version, target) are kept once; the
    first occurrence wins. Raises ``ReportFormatError`` when the report's shape is wrong.
    """
    if not isinstance(data, dict):
        raise ReportFormatError(f"a Trivy report must be a JSON object, got {type(data).__name__}")
    artifact = data.get("ArtifactName", "")
    if not isinstance(artifact, str):
        raise ReportFormatError("ArtifactName must be a string")
    results = data.get("Results")
    if results is None:
        results = []
    if not isinstance(results, list):
        raise ReportFormatError(f"Results must be a list, got {type(results).__name__}")

    findings: dict[tuple[str, str, str, str], Finding] = {}
    for r, result in enumerate(results):
        if not isinstance(result, dict):
            raise ReportFormatError(f"Results[{r}] must be an object, got {type(result).__name__}")
        target = result.get("Target", "")
        if not isinstance(target, str):
            raise ReportFormatError(f"Results[{r}].Target must be a string")
        vulns = result.get("Vulnerabilities")
        if vulns is None:
            continue
        if not isinstance(vulns, list):
            raise ReportFormatError(
                f"Results[{r}].Vulnerabilities must be a list, got {type(vulns).__name__}"
            )
        for v, vuln in enumerate(vulns):
            finding = _parse_vulnerability(
                vuln, target=target, where=f"Results[{r}].Vulnerabilities[{v}]"
            )
            key = (finding.id, finding.package, finding.installed, finding.target)
            findings.setdefault(key, finding)
    return ScanReport(artifact=artifact, findings=tuple(findings.values()))
