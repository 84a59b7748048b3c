"""The re-scan decisions over recorded trivy reports: what is new, fixed, or unchanged since
a digest's last re-scan, and which digests a failed gate blocks and a clean one lifts."""

from __future__ import annotations

import datetime as dt

import pytest

from seamline.adapters.trivy import read_report
from seamline.errors import UsageError
from seamline.policy.findings import ScanReport
from seamline.policy.rescan import (
    RescanBlock,
    RescanOutcome,
    compare_findings,
    finding_ids,
    update_blocks,
)
from tests.unit.fakes import DATA

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
NIGHT_1 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
NIGHT_2 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
OLD = "CVE-2021-38561 golang.org/x/text"
NEWER = "CVE-2022-32149 golang.org/x/text"


def _report(name: str) -> ScanReport:
    return read_report((DATA / "trivy" / name).read_text(), "r/x@" + A)


def test_findings_are_vulnerability_ids_per_package() -> None:
    assert finding_ids(_report("vulnerable-x-text.json")) == {
        "golang.org/x/text": ("CVE-2021-38561", "CVE-2022-32149")
    }
    assert finding_ids(_report("clean.json")) == {}


def test_a_first_rescan_counts_every_finding_new() -> None:
    changes = compare_findings(None, finding_ids(_report("vulnerable-x-text.json")))
    assert (changes.new, changes.fixed, changes.unchanged) == ((OLD, NEWER), (), ())
    assert changes.first and changes.summary() == "2 new, 0 fixed, 0 unchanged (first re-scan)"


def test_the_same_findings_again_are_unchanged() -> None:
    ids = finding_ids(_report("vulnerable-x-text.json"))
    changes = compare_findings(ids, ids)
    assert (changes.new, changes.fixed, changes.unchanged) == ((), (), (OLD, NEWER))
    assert not changes.first


def test_a_clean_rescan_fixes_every_previous_finding() -> None:
    before = finding_ids(_report("vulnerable-x-text.json"))
    changes = compare_findings(before, finding_ids(_report("clean.json")))
    assert (changes.new, changes.fixed, changes.unchanged) == ((), (OLD, NEWER), ())


def test_new_fixed_and_unchanged_at_once() -> None:
    before = {"golang.org/x/text": ["CVE-2021-38561"], "golang.org/x/net": ["CVE-2022-27664"]}
    changes = compare_findings(before, finding_ids(_report("vulnerable-x-text.json")))
    assert changes.new == (NEWER,)
    assert changes.fixed == ("CVE-2022-27664 golang.org/x/net",)
    assert changes.unchanged == (OLD,)


def test_the_same_id_in_another_package_is_another_finding() -> None:
    changes = compare_findings({"pkg-a": ["CVE-1"]}, {"pkg-b": ["CVE-1"]})
    assert (changes.new, changes.fixed) == (("CVE-1 pkg-b",), ("CVE-1 pkg-a",))


def _outcome(digest: str, *, passed: bool, blocking: tuple[str, ...] = ()) -> RescanOutcome:
    reason = "scan gate passed" if passed else f"scan gate failed: {len(blocking)} blocking"
    return RescanOutcome(
        digest=digest, reference=f"r/x@{digest}", passed=passed, reason=reason, blocking=blocking
    )


def test_a_failed_gate_blocks_with_reason_findings_and_time() -> None:
    update = update_blocks({}, [_outcome(A, passed=False, blocking=(NEWER,))], now=NIGHT_1)
    assert update.added == (A,) and update.lifted == ()
    block = update.blocks[A]
    assert (block.reference, block.findings, block.since) == (f"r/x@{A}", (NEWER,), NIGHT_1)
    assert block.reason == "scan gate failed: 1 blocking"
    assert block.describe().startswith("blocked since 2026-03-01T02:00:00+00:00: scan gate")


def test_a_block_stays_with_its_first_time_and_the_latest_findings() -> None:
    first = update_blocks({}, [_outcome(A, passed=False, blocking=(OLD,))], now=NIGHT_1)
    again = update_blocks(
        first.blocks, [_outcome(A, passed=False, blocking=(OLD, NEWER))], now=NIGHT_2
    )
    assert again.added == () and again.lifted == ()
    assert again.blocks[A].since == NIGHT_1 and again.blocks[A].findings == (OLD, NEWER)


def test_a_clean_rescan_lifts_the_block_and_leaves_others() -> None:
    blocked = update_blocks(
        {},
        [_outcome(A, passed=False, blocking=(OLD,)), _outcome(B, passed=False, blocking=(OLD,))],
        now=NIGHT_1,
    )
    update = update_blocks(blocked.blocks, [_outcome(A, passed=True)], now=NIGHT_2)
    assert update.lifted == (A,) and update.added == ()
    assert list(update.blocks) == [B]  # B was not scanned this time: still blocked


def test_a_clean_digest_never_blocked_changes_nothing() -> None:
    update = update_blocks({}, [_outcome(A, passed=True)], now=NIGHT_1)
    assert update.blocks == {} and update.added == () and update.lifted == ()


def test_a_block_needs_a_digest_and_an_aware_time() -> None:
    with pytest.raises(UsageError, match="sha256 digest"):
        RescanBlock(digest="latest", reference="r/x", reason="", findings=(), since=NIGHT_1)
    with pytest.raises(UsageError, match="time zone"):
        RescanBlock(
            digest=A, reference="r/x", reason="", findings=(), since=dt.datetime(2026, 3, 1)
        )
