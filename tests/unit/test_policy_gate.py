"""The scan gate over recorded real Trivy reports (tests/data/trivy/).

Edge cases the recordings do not contain (an unfixed finding, a MEDIUM) are made by
loading a recorded report and changing a copy in code; each such test says what it changed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from seamline.errors import UsageError
from seamline.policy.allowlist import AllowEntry, AllowList
from seamline.policy.findings import ScanReport, parse_trivy_report
from seamline.policy.gate import GatePolicy, evaluate_gate

DATA = Path(__file__).resolve().parents[1] / "data" / "trivy"
TODAY = dt.date(2026, 3, 1)
YESTERDAY = TODAY - dt.timedelta(days=1)
TEXT = "golang.org/x/text"
OLD_READ = "CVE-2021-38561"
ACCEPT_LANGUAGE = "CVE-2022-32149"


def recorded(name: str) -> dict[str, Any]:
    """A fresh copy of a recorded report, safe to modify."""
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def vulnerabilities(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's vulnerability rows by id, for changing a copy in place."""
    return {
        v["VulnerabilityID"]: v for r in data["Results"] for v in r.get("Vulnerabilities") or []
    }


@pytest.fixture
def vulnerable() -> ScanReport:
    return parse_trivy_report(recorded("vulnerable-x-text.json"))


@pytest.fixture
def clean() -> ScanReport:
    return parse_trivy_report(recorded("clean.json"))


def allow(cve: str, package: str = TEXT, *, expires: dt.date = TODAY) -> AllowEntry:
    return AllowEntry(id=cve, package=package, justification="reviewed in OPS-7", expires=expires)


def with_allowlist(*entries: AllowEntry, **kwargs: Any) -> GatePolicy:
    return GatePolicy(allowlist=AllowList(entries=entries), **kwargs)


def test_default_policy_fails_the_vulnerable_report(vulnerable: ScanReport) -> None:
    decision = evaluate_gate(vulnerable, GatePolicy(), today=TODAY)
    assert not decision.passed
    assert {f.id for f in decision.blocking} == {OLD_READ, ACCEPT_LANGUAGE}
    assert decision.allowed == ()
    assert decision.ignored_unfixed == ()
    assert decision.expired_entries == ()
    assert decision.counts == {"CRITICAL": 0, "HIGH": 2, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0}


def test_critical_only_passes_the_vulnerable_report(vulnerable: ScanReport) -> None:
    decision = evaluate_gate(vulnerable, GatePolicy.from_strings(["CRITICAL"]), today=TODAY)
    assert decision.passed
    assert decision.blocking == ()
    assert decision.counts["HIGH"] == 2


def test_clean_report_passes(clean: ScanReport) -> None:
    decision = evaluate_gate(
        clean, GatePolicy.from_strings(["low", "medium", "high", "critical"]), today=TODAY
    )
    assert decision.passed
    assert decision.summary().startswith("scan gate passed")


def test_below_threshold_does_not_block() -> None:
    data = recorded("vulnerable-x-text.json")
    for vuln in vulnerabilities(data).values():
        vuln["Severity"] = "MEDIUM"  # changed: both findings downgraded to MEDIUM
    report = parse_trivy_report(data)
    assert evaluate_gate(report, GatePolicy(), today=TODAY).passed
    medium = evaluate_gate(report, GatePolicy.from_strings(["MEDIUM"]), today=TODAY)
    assert not medium.passed
    assert medium.counts["MEDIUM"] == 2


def test_from_strings_normalizes_case_and_commas() -> None:
    expected = frozenset({"HIGH", "CRITICAL"})
    assert GatePolicy.from_strings(["high", "Critical"]).severities == expected
    assert GatePolicy.from_strings(["high,critical"]).severities == expected
    assert GatePolicy().severities == expected


@pytest.mark.parametrize("severities", [["HIGH", "severe"], ["negligible"]])
def test_unknown_severity_is_a_usage_error(severities: list[str]) -> None:
    with pytest.raises(UsageError, match="unknown severity") as caught:
        GatePolicy.from_strings(severities)
    assert "CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN" in caught.value.hint


def test_no_severities_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no severities"):
        GatePolicy.from_strings([" , "])


def test_ignore_unfixed() -> None:
    data = recorded("vulnerable-x-text.json")
    vulnerabilities(data)[OLD_READ]["FixedVersion"] = ""  # changed: no fix published yet
    report = parse_trivy_report(data)

    strict = evaluate_gate(report, GatePolicy(), today=TODAY)
    assert {f.id for f in strict.blocking} == {OLD_READ, ACCEPT_LANGUAGE}
    assert f"{OLD_READ} {TEXT} " in strict.summary()
    assert "no fix yet (HIGH)" in strict.summary()

    lenient = evaluate_gate(report, GatePolicy(ignore_unfixed=True), today=TODAY)
    assert [f.id for f in lenient.ignored_unfixed] == [OLD_READ]
    assert [f.id for f in lenient.blocking] == [ACCEPT_LANGUAGE]
    assert not lenient.passed


def test_ignore_unfixed_passes_when_nothing_has_a_fix() -> None:
    data = recorded("vulnerable-x-text.json")
    for vuln in vulnerabilities(data).values():
        vuln.pop("FixedVersion", None)  # changed: neither finding has a fix
    decision = evaluate_gate(parse_trivy_report(data), GatePolicy(ignore_unfixed=True), today=TODAY)
    assert decision.passed
    assert len(decision.ignored_unfixed) == 2
    assert "2 without a fix ignored" in decision.summary()


def test_allowlist_accepts_by_id_and_package(vulnerable: ScanReport) -> None:
    entries = (allow(OLD_READ), allow(ACCEPT_LANGUAGE))
    decision = evaluate_gate(vulnerable, with_allowlist(*entries), today=TODAY)
    assert decision.passed
    assert {(f.id, e) for f, e in decision.allowed} == {(e.id, e) for e in entries}
    assert "2 accepted by the allow-list" in decision.summary()


def test_allowlist_same_id_other_package_does_not_apply(vulnerable: ScanReport) -> None:
    policy = with_allowlist(allow(OLD_READ, "golang.org/x/net"), allow(ACCEPT_LANGUAGE))
    decision = evaluate_gate(vulnerable, policy, today=TODAY)
    assert not decision.passed
    assert [f.id for f in decision.blocking] == [OLD_READ]
    assert decision.expired_entries == ()


def test_allowlist_entry_expiring_today_applies(vulnerable: ScanReport) -> None:
    policy = with_allowlist(allow(OLD_READ, expires=TODAY), allow(ACCEPT_LANGUAGE))
    decision = evaluate_gate(vulnerable, policy, today=TODAY)
    assert decision.passed
    assert decision.expired_entries == ()


def test_allowlist_entry_expired_yesterday_blocks_and_is_reported(
    vulnerable: ScanReport,
) -> None:
    stale = allow(OLD_READ, expires=YESTERDAY)
    decision = evaluate_gate(vulnerable, with_allowlist(stale, allow(ACCEPT_LANGUAGE)), today=TODAY)
    assert not decision.passed
    assert [f.id for f in decision.blocking] == [OLD_READ]
    assert decision.expired_entries == (stale,)
    summary = decision.summary()
    assert "expired allow-list entries that would have applied" in summary
    assert f"{OLD_READ} {TEXT} expired {YESTERDAY.isoformat()}" in summary


def test_active_entry_wins_over_an_expired_one(vulnerable: ScanReport) -> None:
    policy = with_allowlist(
        allow(OLD_READ, expires=YESTERDAY), allow(OLD_READ), allow(ACCEPT_LANGUAGE)
    )
    decision = evaluate_gate(vulnerable, policy, today=TODAY)
    assert decision.passed
    assert decision.expired_entries == ()


def test_expired_entry_below_threshold_is_not_reported(vulnerable: ScanReport) -> None:
    policy = GatePolicy(
        severities=frozenset({"CRITICAL"}),
        allowlist=AllowList(entries=(allow(OLD_READ, expires=YESTERDAY),)),
    )
    assert evaluate_gate(vulnerable, policy, today=TODAY).expired_entries == ()


def test_failure_summary_names_cve_package_installed_and_fix(vulnerable: ScanReport) -> None:
    installed = {f.id: f.installed for f in vulnerable.findings}
    summary = evaluate_gate(vulnerable, GatePolicy(), today=TODAY).summary()
    assert summary.startswith("scan gate failed: 2 blocking finding(s)")
    assert f"{OLD_READ} {TEXT} {installed[OLD_READ]} → fixed in 0.3.7 (HIGH)" in summary
    assert (
        f"{ACCEPT_LANGUAGE} {TEXT} {installed[ACCEPT_LANGUAGE]} → fixed in 0.3.8 (HIGH)" in summary
    )


def test_gate_is_pure(vulnerable: ScanReport) -> None:
    policy = with_allowlist(allow(OLD_READ, expires=YESTERDAY))
    first = evaluate_gate(vulnerable, policy, today=TODAY)
    assert evaluate_gate(vulnerable, policy, today=TODAY) == first
    assert evaluate_gate(vulnerable, policy, today=YESTERDAY).blocking != first.blocking
