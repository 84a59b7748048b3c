"""`go test -json` and golangci-lint's JSON report read for a person, over recorded real
output (tests/data/go, tests/data/golangci-lint: see their READMEs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.adapters.go_toolchain import (
    count_test_events,
    go_test_text,
    lint_argv,
    parse_lint_json,
    patch_paths,
    requires_modules,
)
from seamline.policy.source_checks import summarize_findings

DATA = Path(__file__).parents[1] / "data"
RECORDED = DATA / "go" / "test-build-failure.json"
LINT = DATA / "golangci-lint"
LINT_ROOT = "/tmp/seamline-rec/src"  # where the module sat when the reports were recorded


def test_build_failure_and_failing_test_are_named() -> None:
    counts = count_test_events(RECORDED.read_text())
    assert (counts.passed, counts.failed) == (1, 1)
    assert counts.failures == ("example.com/gt.TestB: b_test.go:5: boom",)
    assert counts.build_failures[0].startswith("example.com/gt/pkg: pkg/a_test.go:5:40: cannot use")
    explained = counts.explain()
    assert "1 package(s) failed to build" in explained and "TestB" in explained
    assert "downloading" not in explained


def test_failing_test_package_that_does_not_build_and_one_that_exits_are_each_named() -> None:
    counts = count_test_events((DATA / "go" / "test-failures.json").read_text())
    assert (counts.passed, counts.failed) == (1, 1)
    assert counts.failures == (
        "example.test/shop/price.TestTotal: price_test.go:7: Total([1 2]) = 3, want 4",
    )
    assert counts.build_failures == (
        "example.test/shop/broken: broken/broken_test.go:6:14: cannot use Name() "
        "(value of type string) as int value in variable declaration",
        "example.test/shop/exits: database not reachable",
    )
    assert counts.explain().startswith("2 package(s) failed to build or run: ")


def test_a_missing_module_names_the_package_not_the_import() -> None:
    counts = count_test_events((DATA / "go" / "test-setup-failure.json").read_text())
    assert counts.failed == 0
    assert counts.build_failures == (
        "example.test/svc/dep: dep/dep.go:3:8: no required module provides package "
        "example.invalid/nope; to add it:",
    )


def test_plain_text_keeps_compiler_errors_and_test_output() -> None:
    text = go_test_text(RECORDED.read_text())
    assert "cannot use" in text and "--- FAIL: TestB" in text


def test_lint_json_findings_are_relative_to_the_repository() -> None:
    findings = parse_lint_json((LINT / "findings.json").read_text(), root=LINT_ROOT)
    assert [(f.linter, f.where) for f in findings] == [
        ("errcheck", "shop/price/discount.go:7"),
        ("errcheck", "shop/price/price.go:12"),
        ("unconvert", "shop/price/discount.go:8"),
        ("unconvert", "shop/price/price.go:20"),
    ]
    assert findings[1].text == "Error return value of `os.Setenv` is not checked"


def test_new_findings_lie_in_the_files_the_patch_adds_lines_to() -> None:
    """The patch's paths are relative to the module folder (``shop``): the new findings'
    files, relative to the repository, are the module folder plus a patch path."""
    new = parse_lint_json((LINT / "findings-new.json").read_text(), root=LINT_ROOT)
    changed = patch_paths((LINT / "baseline.patch").read_text())
    assert changed == {"price/discount.go"}
    assert [f.where for f in new] == ["shop/price/discount.go:7", "shop/price/discount.go:8"]
    assert {f.path for f in new} <= {f"shop/{path}" for path in changed}


def test_findings_are_summarized_per_linter_with_the_first_few() -> None:
    findings = parse_lint_json((LINT / "findings.json").read_text(), root=LINT_ROOT)
    summary = summarize_findings(findings, shown=2)
    assert summary.startswith("4 finding(s) (errcheck 2, unconvert 2): ")
    assert "shop/price/price.go:12: Error return value of `os.Setenv` is not checked" in summary
    assert summary.endswith("(+2 more)")


def test_an_unreadable_or_odd_report_gives_no_findings() -> None:
    assert parse_lint_json("", root="/src") == ()
    assert parse_lint_json("not json", root="/src") == ()
    assert parse_lint_json('{"Issues": null}', root="/src") == ()
    assert parse_lint_json('{"Issues": [{"Pos": {"Filename": 3}}, 7]}', root="/src") == ()


def test_lint_argv_writes_json_beside_text_and_restricts_to_the_patch() -> None:
    argv = lint_argv(config="/src/.golangci.yml", json_path="/out/x.json", new_from_patch="/p")
    assert argv[:2] == ["golangci-lint", "run"]
    assert argv[argv.index("--output.json.path") + 1] == "/out/x.json"
    assert argv[argv.index("--new-from-patch") + 1] == "/p"
    assert argv[argv.index("--path-mode") + 1] == "abs"
    assert "--new-from-patch" not in lint_argv(config=None, json_path="/out/x.json")


@pytest.mark.parametrize(
    ("go_mod", "requires"),
    [
        ("module example.com/catalog\n\ngo 1.26\n", False),
        ("module m\n\ngo 1.26\n// require x v1\n", False),
        ("module m\n\ngo 1.26\n\nrequire golang.org/x/text v0.3.7\n", True),
        ("module m\n\nrequire (\n\tgolang.org/x/text v0.3.7 // indirect\n)\n", True),
        ("module m\n\nrequire(\n\tx.org/y v1.0.0\n)\n", True),
    ],
)
def test_a_module_needs_downloads_only_when_it_requires_some(go_mod: str, requires: bool) -> None:
    assert requires_modules(go_mod) is requires
