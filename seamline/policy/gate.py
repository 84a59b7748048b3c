"""The scan gate: a pure decision over a parsed report, a policy, and today's date.

A finding blocks when its severity is in the policy's set, unless an active allow-list
entry accepts it or the policy ignores unfixed findings and it has no fix. An allow-list
entry is consulted first, so every entry in use shows up in ``GateDecision.allowed`` even
for unfixed findings; an entry that would have applied but has expired is reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from seamline.errors import UsageError
from seamline.policy.allowlist import AllowEntry, AllowList
from seamline.policy.findings import SEVERITIES, Finding, ScanReport

DEFAULT_SEVERITIES: frozenset[str] = frozenset({"HIGH", "CRITICAL"})


def _check_severities(severities: frozenset[str]) -> None:
    unknown = sorted(severities - set(SEVERITIES))
    if unknown:
        raise UsageError(
            f"unknown severity {', '.join(map(repr, unknown))}",
            hint=f"choose from {', '.join(SEVERITIES)}",
        )
    if not severities:
        raise UsageError("no severities to gate on", hint="name at least one, e.g. HIGH,CRITICAL")


@dataclass(frozen=True, slots=True, kw_only=True)
class GatePolicy:
    severities: frozenset[str] = DEFAULT_SEVERITIES
    ignore_unfixed: bool = False
    allowlist: AllowList = field(default_factory=AllowList.empty)

    def __post_init__(self) -> None:
        _check_severities(self.severities)

    @classmethod
    def from_strings(
        cls,
        severities: Iterable[str],
        *,
        ignore_unfixed: bool = False,
        allowlist: AllowList | None = None,
    ) -> GatePolicy:
        """Build a policy from user input: case-insensitive names, one per item or
        comma-separated (``["high", "critical"]`` or ``["HIGH,CRITICAL"]``)."""
        names = frozenset(
            part.strip().upper() for item in severities for part in item.split(",") if part.strip()
        )
        return cls(
            severities=names,
            ignore_unfixed=ignore_unfixed,
            allowlist=allowlist if allowlist is not None else AllowList.empty(),
        )


def _severity_rank(finding: Finding) -> int:
    return SEVERITIES.index(finding.severity)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateDecision:
    passed: bool
    blocking: tuple[Finding, ...]
    allowed: tuple[tuple[Finding, AllowEntry], ...]
    ignored_unfixed: tuple[Finding, ...]
    expired_entries: tuple[AllowEntry, ...]
    counts: dict[str, int]

    def summary(self) -> str:
        """What the gate decided and why, for a human reading the run log."""
        totals = ", ".join(f"{severity} {n}" for severity, n in self.counts.items())
        if self.passed:
            lines = [f"scan gate passed: no blocking findings (all findings: {totals})"]
        else:
            lines = [
                f"scan gate failed: {len(self.blocking)} blocking finding(s) "
                f"(all findings: {totals})"
            ]
            lines += [
                f"  {finding.describe()}" for finding in sorted(self.blocking, key=_severity_rank)
            ]
        if self.allowed:
            lines.append(f"{len(self.allowed)} accepted by the allow-list:")
            lines += [
                f"  {finding.id} {finding.package} until {entry.expires}: {entry.justification}"
                for finding, entry in self.allowed
            ]
        if self.ignored_unfixed:
            lines.append(f"{len(self.ignored_unfixed)} without a fix ignored (ignore-unfixed)")
        if self.expired_entries:
            lines.append("expired allow-list entries that would have applied (renew or remove):")
            lines += [
                f"  {entry.id} {entry.package} expired {entry.expires}: {entry.justification}"
                for entry in self.expired_entries
            ]
        return "\n".join(lines)


def evaluate_gate(report: ScanReport, policy: GatePolicy, *, today: dt.date) -> GateDecision:
    """Decide whether ``report`` passes ``policy`` on ``today``; reads nothing else."""
    blocking: list[Finding] = []
    allowed: list[tuple[Finding, AllowEntry]] = []
    ignored_unfixed: list[Finding] = []
    expired: dict[AllowEntry, None] = {}
    for finding in report.findings:
        if finding.severity not in policy.severities:
            continue
        entries = policy.allowlist.matching(finding)
        active = next((entry for entry in entries if entry.active_on(today)), None)
        if active is not None:
            allowed.append((finding, active))
            continue
        expired.update(dict.fromkeys(entries))
        if policy.ignore_unfixed and finding.fixed is None:
            ignored_unfixed.append(finding)
        else:
            blocking.append(finding)
    return GateDecision(
        passed=not blocking,
        blocking=tuple(blocking),
        allowed=tuple(allowed),
        ignored_unfixed=tuple(ignored_unfixed),
        expired_entries=tuple(expired),
        counts=report.counts(),
    )
