"""`go test -json` read for a person: failing tests and packages that did not build."""

from __future__ import annotations

from pathlib import Path

from seamline.adapters.go_toolchain import count_test_events, go_test_text, summarize_lint

RECORDED = Path(__file__).parents[1] / "data" / "go" / "test-build-failure.json"


def test_build_failure_and_failing_test_are_named() -> None:
    counts = count_test_events(RECORDED.read_text())
    assert (counts.passed, counts.failed) == (1, 1)
    assert counts.failures == ("example.com/gt.TestB: b_test.go:5: boom",)
    assert counts.build_failures[0].startswith("example.com/gt/pkg: pkg/a_test.go:5:40: cannot use")
    explained = counts.explain()
    assert "1 package(s) failed to build" in explained and "TestB" in explained
    assert "downloading" not in explained


def test_plain_text_keeps_compiler_errors_and_test_output() -> None:
    text = go_test_text(RECORDED.read_text())
    assert "cannot use" in text and "--- FAIL: TestB" in text


def test_lint_findings_are_summarized_per_linter_with_the_first_few() -> None:
    output = (RECORDED.parents[1] / "golangci-lint" / "findings.txt").read_text()
    summary = summarize_lint(output, shown=2)
    assert summary.startswith("3 finding(s) (errcheck 1, ineffassign 1, unconvert 1): ")
    assert "pkg/a.go:20: Error return value of `os.Chdir` is not checked (errcheck)" in summary
    assert summary.endswith("(+1 more)")
    assert summarize_lint("0 issues.\n") == ""
