"""The build-test gate: a pure decision over what `go build`, `go vet`, golangci-lint and
`go test` found for one service, and the service's policy.

A failing check blocks when the policy names it (`go build` always blocks: no image without
it); a failing check that does not block is reported beside the verdict. With new findings
only, golangci-lint blocks on the findings introduced since a baseline commit, and the
findings the code already had are reported, not blocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seamline.errors import UsageError

BUILD = "build"
OPTIONAL_CHECKS: tuple[str, ...] = ("vet", "lint", "test")
SOURCE_CHECKS: tuple[str, ...] = (BUILD, *OPTIONAL_CHECKS)
SHOWN = 3  # findings named in a gate message; the rest are counted


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceChecksPolicy:
    blocking: frozenset[str] = frozenset(OPTIONAL_CHECKS)  # besides `go build`
    lint_new_only: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(self.blocking - set(OPTIONAL_CHECKS))
        if unknown:
            raise UsageError(
                f"unknown check {', '.join(map(repr, unknown))}",
                hint=f"blocking_checks takes {', '.join(OPTIONAL_CHECKS)} (go build always blocks)",
            )

    def blocks(self, check: str) -> bool:
        return check == BUILD or check in self.blocking


@dataclass(frozen=True, slots=True, kw_only=True)
class LintFinding:
    linter: str
    path: str  # relative to the repository root
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def summarize_findings(findings: Sequence[LintFinding], *, shown: int = SHOWN) -> str:
    """Lint findings for a person: the count per linter and the first few with file:line."""
    if not findings:
        return "no findings"
    per_linter: dict[str, int] = {}
    for found in findings:
        per_linter[found.linter] = per_linter.get(found.linter, 0) + 1
    counts = ", ".join(f"{name} {n}" for name, n in sorted(per_linter.items()))
    first = "; ".join(f"{f.where}: {f.text} ({f.linter})" for f in findings[:shown])
    more = f" (+{len(findings) - shown} more)" if len(findings) > shown else ""
    return f"{len(findings)} finding(s) ({counts}): {first}{more}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceCheck:
    """One check's outcome: whether it failed, what it says when it does, and a note a
    reviewer reads either way (lint debt that does not block)."""

    name: str
    failed: bool
    detail: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.name not in SOURCE_CHECKS:
            raise UsageError(f"unknown check {self.name!r}", hint=", ".join(SOURCE_CHECKS))


def lint_check(
    *,
    findings: Sequence[LintFinding],
    new_findings: Sequence[LintFinding] | None,
    baseline: str,
    new_only: bool,
) -> SourceCheck:
    """golangci-lint's outcome. ``new_findings`` are those of the run restricted to the
    changes since ``baseline``; None when there was no baseline, and then, new-only or not,
    every finding counts."""
    if not new_only or new_findings is None:
        first_run = (
            " (no baseline commit recorded: every finding counts as new)" if new_only else ""
        )
        return SourceCheck(
            name="lint", failed=bool(findings), detail=summarize_findings(findings) + first_run
        )
    existing = len(findings) - len(new_findings)
    note = (
        f"{existing} finding(s) older than {baseline[:12]} do not block; in all: "
        + summarize_findings(findings)
        if existing > 0
        else ""
    )
    return SourceCheck(
        name="lint",
        failed=bool(new_findings),
        detail=f"new since {baseline[:12]}: {summarize_findings(new_findings)}",
        note=note,
    )


@dataclass(frozen=True, slots=True)
class ChecksVerdict:
    blocking: tuple[str, ...]  # "go vet: ..." per failing check that blocks
    reported: tuple[str, ...]  # failing checks that do not block, and notes

    @property
    def passed(self) -> bool:
        return not self.blocking


LABELS = {"build": "go build", "vet": "go vet", "lint": "golangci-lint", "test": "go test"}


def judge(policy: SourceChecksPolicy, checks: Iterable[SourceCheck]) -> ChecksVerdict:
    blocking: list[str] = []
    reported: list[str] = []
    for check in checks:
        label = LABELS[check.name]
        if check.failed and policy.blocks(check.name):
            blocking.append(f"{label} failed: {check.detail}")
        elif check.failed:
            reported.append(f"{label} failed (does not block): {check.detail}")
        if check.note:
            reported.append(f"{label}: {check.note}")
    return ChecksVerdict(tuple(blocking), tuple(reported))
