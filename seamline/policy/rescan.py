"""The re-scan decisions: what changed since a digest's last re-scan, and whether it is blocked.

A finding is a vulnerability id in a package; comparing two scans of one digest names each
finding new, fixed, or unchanged. A digest whose re-scan fails the gate is blocked (the
block keeps the time it was first set and the blocking findings of the latest scan), and
the next re-scan that passes lifts it. A blocked digest is refused by promotion.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from seamline.errors import UsageError
from seamline.policy.findings import Finding, ScanReport

FindingIds = Mapping[str, Sequence[str]]
"""Vulnerability ids per package: ``{"golang.org/x/text": ["CVE-2022-32149"]}``."""


def finding_key(vulnerability: str, package: str) -> str:
    """How one finding is named in a comparison or a block: ``CVE-… package``."""
    return f"{vulnerability} {package}"


def finding_keys(findings: Iterable[Finding]) -> tuple[str, ...]:
    return tuple(sorted({finding_key(f.id, f.package) for f in findings}))


def finding_ids(report: ScanReport) -> dict[str, tuple[str, ...]]:
    """The report's vulnerability ids per package, sorted, each once."""
    by_package: dict[str, set[str]] = {}
    for finding in report.findings:
        by_package.setdefault(finding.package, set()).add(finding.id)
    return {package: tuple(sorted(ids)) for package, ids in sorted(by_package.items())}


def _keys(ids: FindingIds) -> set[str]:
    return {finding_key(vuln, package) for package, vulns in ids.items() for vuln in vulns}


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingChanges:
    """One digest's findings against its previous re-scan; ``first`` when there was none
    (then every finding counts as new)."""

    new: tuple[str, ...]
    fixed: tuple[str, ...]
    unchanged: tuple[str, ...]
    first: bool = False

    def summary(self) -> str:
        text = f"{len(self.new)} new, {len(self.fixed)} fixed, {len(self.unchanged)} unchanged"
        return text + (" (first re-scan)" if self.first else "")


def compare_findings(previous: FindingIds | None, current: FindingIds) -> FindingChanges:
    """What ``current`` adds to, removes from, and keeps of ``previous``."""
    before, now = _keys(previous or {}), _keys(current)
    return FindingChanges(
        new=tuple(sorted(now - before)),
        fixed=tuple(sorted(before - now)),
        unchanged=tuple(sorted(now & before)),
        first=previous is None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RescanBlock:
    """An open block on one digest (``sha256:…``): why, which findings, since when."""

    digest: str
    reference: str
    reason: str
    findings: tuple[str, ...]
    since: dt.datetime

    def __post_init__(self) -> None:
        if not self.digest.startswith("sha256:"):
            raise UsageError(f"a block names a sha256 digest, not {self.digest!r}")
        if self.since.tzinfo is None:
            raise UsageError("a block's time must carry its time zone")

    def describe(self) -> str:
        return f"blocked since {self.since.isoformat()}: {self.reason}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RescanOutcome:
    """What one re-scan found for one digest: the gate's verdict and its blocking findings."""

    digest: str
    reference: str
    passed: bool
    reason: str
    blocking: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockUpdate:
    blocks: dict[str, RescanBlock]  # every open block after the update, by digest
    added: tuple[str, ...]  # digests newly blocked
    lifted: tuple[str, ...]  # digests whose block a clean re-scan lifted


def update_blocks(
    open_blocks: Mapping[str, RescanBlock],
    outcomes: Sequence[RescanOutcome],
    *,
    now: dt.datetime,
) -> BlockUpdate:
    """Apply the re-scan ``outcomes`` to the ``open_blocks``: a failed gate blocks (or keeps
    blocking, with the latest findings and reason); a passed gate lifts. Digests this run
    did not scan keep their blocks."""
    blocks = dict(open_blocks)
    added: list[str] = []
    lifted: list[str] = []
    for outcome in outcomes:
        existing = blocks.get(outcome.digest)
        if outcome.passed:
            if existing is not None:
                del blocks[outcome.digest]
                lifted.append(outcome.digest)
            continue
        if existing is None:
            added.append(outcome.digest)
        blocks[outcome.digest] = RescanBlock(
            digest=outcome.digest,
            reference=outcome.reference,
            reason=outcome.reason,
            findings=outcome.blocking,
            since=existing.since if existing is not None else now,
        )
    return BlockUpdate(
        blocks=dict(sorted(blocks.items())), added=tuple(added), lifted=tuple(lifted)
    )
