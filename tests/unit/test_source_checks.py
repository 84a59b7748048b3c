"""The build-test gate over recorded golangci-lint reports (tests/data/golangci-lint)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.adapters.go_toolchain import parse_lint_json
from seamline.errors import UsageError
from seamline.policy.source_checks import SourceCheck, SourceChecksPolicy, judge, lint_check

LINT = Path(__file__).parents[1] / "data" / "golangci-lint"
ROOT = "/tmp/seamline-rec/src"
ALL = parse_lint_json((LINT / "findings.json").read_text(), root=ROOT)
NEW = parse_lint_json((LINT / "findings-new.json").read_text(), root=ROOT)
BASE = "c0ffee" + "0" * 34


def _passing(*names: str) -> list[SourceCheck]:
    return [SourceCheck(name=n, failed=False) for n in names]


def test_new_findings_block_and_old_ones_are_reported() -> None:
    lint = lint_check(findings=ALL, new_findings=NEW, baseline=BASE, new_only=True)
    verdict = judge(SourceChecksPolicy(lint_new_only=True), [*_passing("build", "vet"), lint])
    assert not verdict.passed
    (blocking,) = verdict.blocking
    assert blocking.startswith("golangci-lint failed: new since c0ffee000000: 2 finding(s)")
    assert "shop/price/discount.go:7" in blocking and "price.go" not in blocking
    (note,) = verdict.reported
    assert note.startswith("golangci-lint: 2 finding(s) older than c0ffee000000 do not block")


def test_old_findings_alone_do_not_block() -> None:
    lint = lint_check(findings=ALL[1::2], new_findings=(), baseline=BASE, new_only=True)
    verdict = judge(SourceChecksPolicy(lint_new_only=True), [lint])
    assert verdict.passed
    assert "shop/price/price.go:12" in verdict.reported[0]


def test_without_a_baseline_every_finding_counts() -> None:
    lint = lint_check(findings=ALL, new_findings=None, baseline="", new_only=True)
    assert lint.failed and "every finding counts as new" in lint.detail
    assert lint_check(findings=ALL, new_findings=None, baseline="", new_only=False).failed


def test_a_check_left_out_of_blocking_is_reported_not_blocking() -> None:
    policy = SourceChecksPolicy(blocking=frozenset({"test"}))
    lint = lint_check(findings=ALL, new_findings=None, baseline="", new_only=False)
    vet = SourceCheck(name="vet", failed=True, detail="x.go:3: unreachable code")
    verdict = judge(policy, [vet, lint, *_passing("build", "test")])
    assert verdict.passed
    assert verdict.reported[0] == "go vet failed (does not block): x.go:3: unreachable code"
    assert verdict.reported[1].startswith("golangci-lint failed (does not block): 4 finding(s)")


def test_go_build_always_blocks() -> None:
    policy = SourceChecksPolicy(blocking=frozenset())
    verdict = judge(policy, [SourceCheck(name="build", failed=True, detail="undefined: x")])
    assert verdict.blocking == ("go build failed: undefined: x",)


def test_unknown_checks_are_refused() -> None:
    with pytest.raises(UsageError, match="'build'"):
        SourceChecksPolicy(blocking=frozenset({"build"}))
    with pytest.raises(UsageError):
        SourceCheck(name="fmt", failed=False)
