"""Findings parsed from recorded real Trivy reports (tests/data/trivy/).

Edge cases the recordings do not contain are made by loading a recorded report and
changing a copy in code; each such test says what it changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from seamline.policy.findings import (
    SEVERITIES,
    Finding,
    ReportFormatError,
    ScanReport,
    parse_trivy_report,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "trivy"


def recorded(name: str) -> dict[str, Any]:
    """A fresh copy of a recorded report, safe to modify."""
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def first_vulnerability(data: dict[str, Any]) -> dict[str, Any]:
    vulns: list[dict[str, Any]] = next(
        r["Vulnerabilities"] for r in data["Results"] if r.get("Vulnerabilities")
    )
    return vulns[0]


def test_vulnerable_report_findings() -> None:
    report = parse_trivy_report(recorded("vulnerable-x-text.json"))
    assert report.artifact
    rows = {(f.id, f.package, f.installed, f.fixed, f.severity) for f in report.findings}
    assert rows == {
        ("CVE-2021-38561", "golang.org/x/text", "v0.3.5", "0.3.7", "HIGH"),
        ("CVE-2022-32149", "golang.org/x/text", "v0.3.5", "0.3.8", "HIGH"),
    }
    for finding in report.findings:
        assert finding.target
        assert finding.title
        assert finding.url and finding.url.startswith("https://")


def test_vulnerable_report_counts_every_severity() -> None:
    counts = parse_trivy_report(recorded("vulnerable-x-text.json")).counts()
    assert counts == {"CRITICAL": 0, "HIGH": 2, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0}
    assert list(counts) == list(SEVERITIES)


def test_clean_report_has_no_findings() -> None:
    report = parse_trivy_report(recorded("clean.json"))
    assert report.findings == ()
    assert report.counts() == dict.fromkeys(SEVERITIES, 0)


def test_results_missing_means_no_findings() -> None:
    data = recorded("clean.json")
    data.pop("Results", None)  # changed: a report of an artifact with nothing to scan
    assert parse_trivy_report(data).findings == ()


def test_vulnerabilities_null_or_missing_means_no_findings() -> None:
    data = recorded("vulnerable-x-text.json")
    # changed: one result with Vulnerabilities null, one without the key at all
    data["Results"] = [
        {**data["Results"][0], "Vulnerabilities": None},
        {k: v for k, v in data["Results"][0].items() if k != "Vulnerabilities"},
    ]
    assert parse_trivy_report(data).findings == ()


def test_empty_fixed_version_means_no_fix() -> None:
    data = recorded("vulnerable-x-text.json")
    first_vulnerability(data)["FixedVersion"] = ""  # changed: as trivy prints an unfixed one
    fixed = {f.id: f.fixed for f in parse_trivy_report(data).findings}
    assert None in fixed.values()


@pytest.mark.parametrize(
    ("given", "expected"),
    [("CRITICAL", "CRITICAL"), ("medium", "MEDIUM"), ("SEVERE", "UNKNOWN"), (None, "UNKNOWN")],
)
def test_severity_is_normalized(given: str | None, expected: str) -> None:
    data = recorded("vulnerable-x-text.json")
    vuln = first_vulnerability(data)
    vuln["Severity"] = given  # changed: the severity under test
    finding = next(f for f in parse_trivy_report(data).findings if f.id == vuln["VulnerabilityID"])
    assert finding.severity == expected


def test_identical_rows_are_kept_once() -> None:
    data = recorded("vulnerable-x-text.json")
    result = next(r for r in data["Results"] if r.get("Vulnerabilities"))
    result["Vulnerabilities"] = result["Vulnerabilities"] * 2  # changed: every row twice
    report = parse_trivy_report(data)
    assert len(report.findings) == 2
    assert report.counts()["HIGH"] == 2


def test_same_vulnerability_in_another_target_is_kept() -> None:
    data = recorded("vulnerable-x-text.json")
    result = next(r for r in data["Results"] if r.get("Vulnerabilities"))
    data["Results"].append({**result, "Target": "usr/local/bin/other"})  # changed: 2nd binary
    report = parse_trivy_report(data)
    assert len(report.findings) == 4
    assert {f.target for f in report.findings} == {result["Target"], "usr/local/bin/other"}


@pytest.mark.parametrize("data", [[], "report", None])
def test_report_must_be_an_object(data: object) -> None:
    with pytest.raises(ReportFormatError, match="must be a JSON object"):
        parse_trivy_report(data)


def test_results_must_be_a_list() -> None:
    data = recorded("vulnerable-x-text.json")
    data["Results"] = {"Target": "x"}  # changed: wrong shape
    with pytest.raises(ReportFormatError, match=r"Results must be a list, got dict"):
        parse_trivy_report(data)


@pytest.mark.parametrize("key", ["VulnerabilityID", "PkgName"])
def test_vulnerability_needs_id_and_package(key: str) -> None:
    data = recorded("vulnerable-x-text.json")
    del first_vulnerability(data)[key]  # changed: a required field removed
    with pytest.raises(ReportFormatError, match=rf"Vulnerabilities\[0\]: {key} is missing"):
        parse_trivy_report(data)


def test_format_error_is_a_value_error() -> None:
    assert issubclass(ReportFormatError, ValueError)


def test_finding_describe() -> None:
    fixed = Finding(
        id="CVE-2021-38561",
        package="golang.org/x/text",
        installed="v0.3.5",
        fixed="0.3.7",
        severity="HIGH",
        target="app",
    )
    assert fixed.describe() == "CVE-2021-38561 golang.org/x/text v0.3.5 → fixed in 0.3.7 (HIGH)"
    unfixed = Finding(
        id="CVE-0000-1", package="p", installed="1", fixed=None, severity="LOW", target="app"
    )
    assert unfixed.describe() == "CVE-0000-1 p 1 → no fix yet (LOW)"


def test_models_are_frozen() -> None:
    report = ScanReport(artifact="a", findings=())
    with pytest.raises(AttributeError):
        report.artifact = "b"  # type: ignore[misc]
