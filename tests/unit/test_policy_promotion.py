"""The promotion decision: every digest must pass every check, or nothing moves."""

from __future__ import annotations

import pytest

from seamline.errors import UsageError
from seamline.policy.promotion import (
    CHECKS,
    SCAN_GATE,
    CheckOutcome,
    DigestChecks,
    decide_promotion,
    pending_moves,
)

A = "r/a@sha256:" + "a" * 64
B = "r/b@sha256:" + "b" * 64


def _checked(reference: str, *, failing: str = "", skip: str = "") -> DigestChecks:
    return DigestChecks(
        image=reference.partition("@")[0],
        reference=reference,
        outcomes=tuple(
            CheckOutcome(check=c, passed=c != failing, detail="said no" if c == failing else "ok")
            for c in CHECKS
            if c != skip
        ),
    )


def test_every_check_passing_moves_every_digest() -> None:
    decision = decide_promotion([_checked(A), _checked(B)])
    assert decision.passed and [c.reference for c in decision.movable] == [A, B]
    assert decision.movable[0].digest == "sha256:" + "a" * 64


@pytest.mark.parametrize("check", CHECKS)
def test_one_failing_check_moves_nothing_and_is_named(check: str) -> None:
    decision = decide_promotion([_checked(A), _checked(B, failing=check)])
    assert not decision.passed and decision.movable == ()
    assert [(f.reference, f.check, f.detail) for f in decision.failures] == [(B, check, "said no")]
    assert f"{B}: {check} failed: said no" in decision.summary()


def test_a_check_that_did_not_run_counts_as_failed() -> None:
    decision = decide_promotion([_checked(A, skip=SCAN_GATE)])
    assert not decision.passed
    assert [(f.check, f.detail) for f in decision.failures] == [(SCAN_GATE, "not run")]


def test_an_unknown_check_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown check"):
        CheckOutcome(check="vibes", passed=True, detail="")


def test_pending_moves_are_the_references_the_target_lacks_byte_for_byte() -> None:
    source = {"a": A, "b": B}
    assert pending_moves(source, {"a": A, "b": B.upper()}) == {"b": B}
    assert pending_moves(source, source) == {}
