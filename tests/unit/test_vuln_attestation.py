"""The vuln attestation over recorded real output: trivy v0.74.0's ``--format cosign-vuln``
predicates and the DSSE envelopes ``cosign verify-attestation --type vuln --output json``
printed for two scans attested on one digest (the night before an advisory was known, and
the night after)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from seamline.adapters.cosign import verified_statements
from seamline.adapters.roles import Statement
from seamline.adapters.trivy import read_scan
from seamline.errors import ToolFailed, UsageError
from seamline.policy.findings import ReportFormatError
from seamline.policy.rescan import finding_keys
from seamline.policy.vuln_scan import VULN_PREDICATE_TYPE, latest_scan, read_vuln_predicate
from seamline.run.vuln_attestation import attest_vuln_scan, latest_vuln_scan
from tests.unit.fakes import DATA, FakeSigner

RECORDED = DATA / "cosign"
REFERENCE = (RECORDED / "reference.txt").read_text().strip()
DIGEST = REFERENCE.partition("@")[2]
X_TEXT = ("CVE-2021-38561 golang.org/x/text", "CVE-2022-32149 golang.org/x/text")
DB = "127.0.0.1:5000/seamline/trivy-db:2"


def _recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "trivy" / name).read_text())
    return data


def _statements() -> tuple[Statement, ...]:
    return verified_statements((RECORDED / "verify-attestation-vuln.jsonl").read_text(), REFERENCE)


def _signer(statements: tuple[Statement, ...]) -> FakeSigner:
    return FakeSigner(statements=[(REFERENCE, s) for s in statements])


def test_one_trivy_scan_is_the_gate_report_and_the_predicate_naming_its_db() -> None:
    text = (DATA / "trivy" / "vulnerable-x-text.cosign-vuln.json").read_text()
    scan = read_scan(text, REFERENCE, db_uri=DB, db_version="sha256:" + "d" * 64)
    assert finding_keys(scan.report.findings) == X_TEXT
    recorded = json.loads(text)
    assert json.loads(scan.document) == recorded["scanner"]["result"]  # the JSON report
    predicate = json.loads(scan.predicate)
    assert predicate["scanner"]["db"] == {"uri": DB, "version": "sha256:" + "d" * 64}
    del predicate["scanner"]["db"], recorded["scanner"]["db"]
    assert predicate == recorded  # all else as trivy printed it


def test_a_db_trivy_names_itself_is_kept() -> None:
    recorded = _recorded("clean.cosign-vuln.json")
    named = copy.deepcopy(recorded)
    named["scanner"]["db"] = {"uri": "mirror.example/trivy-db", "version": "2"}
    scan = read_scan(json.dumps(named), REFERENCE, db_uri=DB, db_version="sha256:" + "d" * 64)
    assert json.loads(scan.predicate)["scanner"]["db"] == named["scanner"]["db"]
    assert read_vuln_predicate(named).db == "mirror.example/trivy-db 2"


@pytest.mark.parametrize("text", ["", "[]", '{"scanner": {}}', '{"scanner": {"result": []}}'])
def test_output_that_is_no_predicate_is_a_tool_failure(text: str) -> None:
    with pytest.raises(ToolFailed) as raised:
        read_scan(text, REFERENCE)
    assert raised.value.exit_code == 3 and REFERENCE in raised.value.message


def test_the_recorded_envelopes_are_statements_about_the_digest() -> None:
    statements = _statements()
    assert len(statements) == 2
    assert {s.predicate_type for s in statements} == {VULN_PREDICATE_TYPE}
    assert all(s.subjects == (DIGEST,) for s in statements)


def test_the_latest_scan_is_the_one_that_finished_last_in_any_order() -> None:
    statements = _statements()
    for ordered in (statements, statements[::-1]):
        latest = latest_vuln_scan(_signer(ordered), REFERENCE)
        assert latest is not None
        assert finding_keys(latest.report.findings) == X_TEXT  # the night after the advisory
    scans = [read_vuln_predicate(s.predicate) for s in statements]
    before = min(scans, key=lambda s: s.scanned_at)
    assert before.report.findings == () and before.scanned_at < latest.scanned_at
    assert latest_scan(scans) == latest and latest_scan([]) is None
    assert latest.scanned_at.tzinfo is not None
    assert latest.scanner.startswith("trivy ") and latest.db == f"{DB}@sha256:{'d' * 64}"
    assert latest.describe().startswith(f"scanned {latest.scanned_at.isoformat('T', 'seconds')}")
    assert f"(DB {DB}@sha256:" in latest.describe()


def test_statements_of_another_type_or_digest_do_not_count() -> None:
    statement = _statements()[0]
    other_digest = Statement(statement.predicate_type, ("sha256:" + "9" * 64,), statement.predicate)
    other_type = Statement("https://slsa.dev/provenance/v1", (DIGEST,), statement.predicate)
    assert latest_vuln_scan(_signer((other_digest, other_type)), REFERENCE) is None
    assert latest_vuln_scan(_signer(()), REFERENCE) is None


def test_a_verified_but_unreadable_predicate_is_an_error_not_a_pass() -> None:
    broken = Statement(VULN_PREDICATE_TYPE, (DIGEST,), {"scanner": {"result": "?"}})
    with pytest.raises(ToolFailed, match=r"a verified vuln attestation on .* is unreadable"):
        latest_vuln_scan(_signer((broken,)), REFERENCE)
    with pytest.raises(UsageError):
        latest_vuln_scan(_signer(()), "127.0.0.1:5000/app:latest")


def test_the_scan_time_falls_back_to_the_report_and_must_exist() -> None:
    predicate = _recorded("clean.cosign-vuln.json")
    created = dt.datetime.fromisoformat(predicate["scanner"]["result"]["CreatedAt"])
    predicate["metadata"] = {"scanStartedOn": "0001-01-01T00:00:00Z"}  # Go's zero time: unset
    assert read_vuln_predicate(predicate).scanned_at == created
    del predicate["scanner"]["result"]["CreatedAt"]
    with pytest.raises(ReportFormatError, match="no time"):
        read_vuln_predicate(predicate)
    predicate["metadata"] = {"scanFinishedOn": "yesterday"}
    with pytest.raises(ReportFormatError, match="not a time"):
        read_vuln_predicate(predicate)


def test_an_unreadable_envelope_is_a_tool_failure() -> None:
    with pytest.raises(ToolFailed, match="unreadable envelope"):
        verified_statements('{"payload": "not base64!"}\n', REFERENCE)


def test_an_empty_predicate_is_not_attested() -> None:
    signer = FakeSigner()
    with pytest.raises(ToolFailed, match="no vuln predicate"):
        attest_vuln_scan(signer, REFERENCE, " ")
    assert signer.attested == []
