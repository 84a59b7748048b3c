"""Stage re-scan over a recorded scanner and a real state folder: each night compares with
the last, keeps its findings, blocks a failing digest and lifts the block once it is clean."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from seamline.errors import StateCorrupt, ToolFailed
from seamline.policy.gate import GatePolicy
from seamline.policy.rescan import finding_keys
from seamline.run.rescan_state import RescanState
from seamline.run.vuln_attestation import latest_vuln_scan
from tasks import rescan
from tasks.rescan import PinnedImage
from tests.unit.fakes import FakeSigner, RecordedScanner

DIGEST = "sha256:" + "c" * 64
CATALOG = "127.0.0.1:5000/bookstore/catalog@" + DIGEST
ORDERS = "127.0.0.1:5000/bookstore/orders@sha256:" + "a" * 64
NIGHT_1 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
NIGHT_2 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
NIGHT_3 = dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.UTC)
FINDINGS = ("CVE-2021-38561 golang.org/x/text", "CVE-2022-32149 golang.org/x/text")


def _night(
    state: RescanState, recording: str, now: dt.datetime, signer: FakeSigner | None = None
) -> rescan.RescanVerdict:
    verdict = rescan.rescan_one(
        CATALOG,
        scanner=RecordedScanner(recording),
        signer=signer or FakeSigner(),
        policy=GatePolicy.from_strings(["HIGH,CRITICAL"]),
        state=state,
        trivy_db="127.0.0.1:5000/trivy-db@sha256:" + "d" * 64,
        now=now,
    )
    rescan.apply_blocks(state, [verdict], now=now)
    return verdict


def test_a_digest_going_bad_is_blocked_and_a_clean_rescan_lifts_it(tmp_path: Path) -> None:
    state = RescanState.under(tmp_path)
    first = _night(state, "clean.cosign-vuln.json", NIGHT_1)
    assert first.passed and first.changes.first and state.blocks() == {}
    assert state.scan_path(DIGEST) == tmp_path / "rescan" / f"{'c' * 64}.json"

    second = _night(state, "vulnerable-x-text.cosign-vuln.json", NIGHT_2)
    assert not second.passed and second.changes.new == FINDINGS and second.blocking == FINDINGS
    block = state.block_for(CATALOG)
    assert block is not None and block.since == NIGHT_2 and block.findings == FINDINGS
    assert block.reason.startswith("scan gate failed: 2 blocking finding(s)")
    on_disk = json.loads(state.blocks_path.read_text())["blocks"]
    assert [(b["digest"], b["since"]) for b in on_disk] == [(DIGEST, NIGHT_2.isoformat())]

    third = _night(state, "clean.cosign-vuln.json", NIGHT_3)
    assert third.passed and third.changes.fixed == FINDINGS and third.changes.new == ()
    assert state.block_for(CATALOG) is None and state.blocks() == {}
    record = state.last_scan(DIGEST)
    assert record is not None and record.scanned_at == NIGHT_3 and record.findings == {}


def test_the_same_findings_next_night_are_unchanged_and_still_blocked(tmp_path: Path) -> None:
    state = RescanState.under(tmp_path)
    _night(state, "vulnerable-x-text.cosign-vuln.json", NIGHT_1)
    again = _night(state, "vulnerable-x-text.cosign-vuln.json", NIGHT_2)
    assert again.changes.unchanged == FINDINGS and again.changes.new == ()
    block = state.block_for(CATALOG)
    assert block is not None and block.since == NIGHT_1  # blocked since the first bad night
    record = state.last_scan(DIGEST)
    assert record is not None and record.findings == {
        "golang.org/x/text": ("CVE-2021-38561", "CVE-2022-32149")
    }


def test_a_report_and_tables_name_each_digest_and_overlay(tmp_path: Path) -> None:
    state = RescanState.under(tmp_path)
    bad = _night(state, "vulnerable-x-text.cosign-vuln.json", NIGHT_1)
    good = rescan.rescan_one(
        ORDERS,
        scanner=RecordedScanner("clean.cosign-vuln.json"),
        signer=FakeSigner(),
        policy=GatePolicy.from_strings(["HIGH"]),
        state=state,
        trivy_db="db",
        now=NIGHT_1,
    )
    pins = [
        PinnedImage("dev", "bookstore/catalog", CATALOG),
        PinnedImage("staging", "bookstore/catalog", CATALOG),
        PinnedImage("dev", "bookstore/orders", ORDERS),
    ]
    result = rescan.rescan_report(pins, [good, bad], state.blocks())
    assert [d.reference for d in result.blocked] == [CATALOG]
    assert [d.as_dict() for d in result.digests] == [
        {
            "reference": CATALOG,
            "overlays": ["dev", "staging"],
            "gate": "failed",
            "new": list(FINDINGS),
            "fixed": [],
            "unchanged": [],
            "blocked": True,
        },
        {
            "reference": ORDERS,
            "overlays": ["dev"],
            "gate": "passed",
            "new": [],
            "fixed": [],
            "unchanged": [],
            "blocked": False,
        },
    ]
    tables = rescan.overlay_tables(pins, [good, bad])
    assert sorted(tables) == ["dev", "staging"]
    assert tables["staging"] == [
        {
            "image": "bookstore/catalog",
            "digest": DIGEST,
            "gate": "FAILED",
            "new": ", ".join(FINDINGS),
            "fixed": "-",
            "unchanged": "-",
        }
    ]
    assert [row["image"] for row in tables["dev"]] == ["bookstore/catalog", "bookstore/orders"]
    assert rescan.artifact_key("QA_east") == "rescan-qa-east"


def test_an_unreadable_blocks_file_refuses_rather_than_guessing(tmp_path: Path) -> None:
    state = RescanState.under(tmp_path)
    state.folder.mkdir()
    state.blocks_path.write_text("{not json")
    with pytest.raises(StateCorrupt) as raised:
        state.block_for(CATALOG)
    assert raised.value.exit_code == 3 and "blocks.json" in raised.value.message


def test_writes_leave_no_staging_files_behind(tmp_path: Path) -> None:
    state = RescanState.under(tmp_path)
    _night(state, "vulnerable-x-text.cosign-vuln.json", NIGHT_1)
    assert sorted(p.name for p in state.folder.iterdir()) == ["blocks.json", f"{'c' * 64}.json"]


def test_each_rescan_attests_its_scan_in_place_of_the_last_one(tmp_path: Path) -> None:
    state, signer = RescanState.under(tmp_path), FakeSigner()
    _night(state, "clean.cosign-vuln.json", NIGHT_1, signer)
    _night(state, "vulnerable-x-text.cosign-vuln.json", NIGHT_2, signer)
    assert signer.attested == [(CATALOG, "vuln")]  # replaced, not piled up
    latest = latest_vuln_scan(signer, CATALOG)
    assert latest is not None
    assert finding_keys(latest.report.findings) == FINDINGS  # what the second night found
    assert latest.scanner.startswith("trivy ")


def test_a_scan_that_could_not_be_attested_is_not_kept_as_the_baseline(tmp_path: Path) -> None:
    class Unreachable(FakeSigner):
        def attest(
            self, reference: str, *, predicate: Path, predicate_type: str, replace: bool = False
        ) -> None:
            raise ToolFailed("cosign attest exited with 1: connection refused", transient=True)

    state = RescanState.under(tmp_path)
    _night(state, "clean.cosign-vuln.json", NIGHT_1)
    with pytest.raises(ToolFailed):
        _night(state, "vulnerable-x-text.cosign-vuln.json", NIGHT_2, Unreachable())
    record = state.last_scan(DIGEST)
    assert record is not None and record.scanned_at == NIGHT_1  # the retry compares with it
    again = _night(state, "vulnerable-x-text.cosign-vuln.json", NIGHT_2)
    assert again.changes.new == FINDINGS
