"""Stage re-scan: the image digests the GitOps repository's overlays pin, scanned again with
today's vulnerability DB and judged by the same gate as a CI run.

Each scan is attested on its digest as a signed cosign ``vuln`` attestation (the record
promotion and anyone else read, ``seamline.run.vuln_attestation``). Its findings are
compared with the digest's last re-scan (kept in the state folder), and a digest that
fails the gate is blocked until a later re-scan passes (``seamline.policy.rescan``,
``seamline.run.rescan_state``)."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.roles import Scanner, Signer
from seamline.adapters.toolbox import Toolbox
from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import Settings
from seamline.errors import UsageError
from seamline.overlay.files import current_images
from seamline.policy.gate import GatePolicy, evaluate_gate
from seamline.policy.rescan import (
    BlockUpdate,
    FindingChanges,
    RescanBlock,
    RescanOutcome,
    compare_findings,
    finding_ids,
    finding_keys,
    update_blocks,
)
from seamline.run.rescan_state import RescanState, ScanRecord
from seamline.run.results import SEVERITIES
from seamline.run.vuln_attestation import attest_vuln_scan
from seamline.validate.image_ref import ImageRef
from tasks.preflight import trivy_db_digest
from tasks.retry_policy import transient_only
from tasks.scan import repository_gate


@dataclass(frozen=True)
class PinnedImage:
    overlay: str
    image: str
    reference: str  # repository@sha256:...


@dataclass(frozen=True)
class Pinned:
    """What the overlays pin, and the gate CI judged those images by (the settings'
    severities and the repository's allow-list), read from one clone."""

    images: list[PinnedImage]
    gate: GatePolicy


@dataclass(frozen=True)
class RescanVerdict:
    """One digest's re-scan: the gate's verdict and what changed since the last one."""

    reference: str
    digest: str
    passed: bool
    summary: str
    blocking: tuple[str, ...]  # finding keys the gate blocks on
    changes: FindingChanges

    def outcome(self) -> RescanOutcome:
        reason = self.summary.splitlines()[0]
        return RescanOutcome(
            digest=self.digest,
            reference=self.reference,
            passed=self.passed,
            reason=reason,
            blocking=self.blocking,
        )


@dataclass(frozen=True)
class DigestRescan:
    """What a re-scan run reports about one distinct digest."""

    reference: str
    overlays: tuple[str, ...]
    passed: bool
    new: tuple[str, ...]
    fixed: tuple[str, ...]
    unchanged: tuple[str, ...]
    blocked: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "reference": self.reference,
            "overlays": list(self.overlays),
            "gate": "passed" if self.passed else "failed",
            "new": list(self.new),
            "fixed": list(self.fixed),
            "unchanged": list(self.unchanged),
            "blocked": self.blocked,
        }


@dataclass(frozen=True)
class RescanResult:
    digests: tuple[DigestRescan, ...]

    @property
    def blocked(self) -> tuple[DigestRescan, ...]:
        return tuple(d for d in self.digests if d.blocked)


def rescan_report(
    pins: Sequence[PinnedImage],
    verdicts: Sequence[RescanVerdict],
    blocks: Mapping[str, RescanBlock],
) -> RescanResult:
    """One entry per scanned digest, naming the overlays that pin it and its open block."""
    overlays: dict[str, list[str]] = {}
    for pin in pins:
        overlays.setdefault(pin.reference, []).append(pin.overlay)
    return RescanResult(
        tuple(
            DigestRescan(
                reference=v.reference,
                overlays=tuple(sorted(set(overlays.get(v.reference, ())))),
                passed=v.passed,
                new=v.changes.new,
                fixed=v.changes.fixed,
                unchanged=v.changes.unchanged,
                blocked=v.digest in blocks,
            )
            for v in sorted(verdicts, key=lambda v: v.reference)
        )
    )


def artifact_key(overlay: str) -> str:
    """``rescan-<overlay>`` in the lowercase-dash form Prefect artifact keys take."""
    return "rescan-" + re.sub(r"[^a-z0-9-]+", "-", overlay.lower())


def overlay_tables(
    pins: Sequence[PinnedImage], verdicts: Sequence[RescanVerdict]
) -> dict[str, list[dict[str, str]]]:
    """The rows of each overlay's ``rescan-<overlay>`` table artifact."""
    by_reference = {v.reference: v for v in verdicts}
    tables: dict[str, list[dict[str, str]]] = {}
    for pin in pins:
        verdict = by_reference[pin.reference]
        tables.setdefault(pin.overlay, []).append(
            {
                "image": pin.image,
                "digest": verdict.digest,
                "gate": "passed" if verdict.passed else "FAILED",
                "new": ", ".join(verdict.changes.new) or "-",
                "fixed": ", ".join(verdict.changes.fixed) or "-",
                "unchanged": ", ".join(verdict.changes.unchanged) or "-",
            }
        )
    return tables


@task(
    name="pinned-digests",
    task_run_name="pinned-digests",
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def pinned_digests(settings: Settings) -> Pinned:
    """Every ``name@sha256:`` reference in every overlay of the GitOps repository."""
    with tempfile.TemporaryDirectory(prefix="seamline-rescan-") as folder:
        checkout = Toolbox(settings).gitops_remote().clone(Path(folder) / "gitops").path
        config = load_pipeline_config(checkout)
        pins = []
        for name, overlay in config.overlay_folders(checkout).items():
            for image, reference in sorted(current_images(overlay).items()):
                if ImageRef.parse(reference).digest:
                    pins.append(PinnedImage(name, image, reference))
        gate = repository_gate(settings, config)
    get_run_logger().info(
        "%d pinned digests in the GitOps repository (%d distinct)",
        len(pins),
        len({p.reference for p in pins}),
    )
    return Pinned(pins, gate)


@task(
    name="trivy-db",
    task_run_name="trivy-db",
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def trivy_db(settings: Settings) -> str:
    """Today's DB: its digest in the mirror, resolved once for every scan of the run."""
    registry = Toolbox(settings).registry()
    try:
        return trivy_db_digest(registry, settings)
    finally:
        registry.close()


def rescan_one(
    reference: str,
    *,
    scanner: Scanner,
    signer: Signer,
    policy: GatePolicy,
    state: RescanState,
    trivy_db: str,
    now: dt.datetime,
) -> RescanVerdict:
    """Scan ``reference``, attest the scan on it, judge it, compare it with its last
    re-scan, and keep this one as the next run's baseline (only once attested: a retry
    after a failed attestation still compares with the night before)."""
    digest = ImageRef.parse(reference).digest
    if not digest:
        raise UsageError(f"a re-scan takes a pinned digest, not {reference}")
    scan = scanner.scan_image(reference, severities=SEVERITIES)
    attest_vuln_scan(signer, reference, scan.predicate)
    report = scan.report
    decision = evaluate_gate(report, policy, today=now.date())
    current = finding_ids(report)
    previous = state.last_scan(digest)
    changes = compare_findings(previous.findings if previous else None, current)
    state.save_scan(
        ScanRecord(
            digest=digest,
            reference=reference,
            scanned_at=now,
            trivy_db=trivy_db,
            findings=current,
        )
    )
    return RescanVerdict(
        reference=reference,
        digest=digest,
        passed=decision.passed,
        summary=decision.summary(),
        blocking=finding_keys(decision.blocking),
        changes=changes,
    )


def apply_blocks(
    state: RescanState, verdicts: Sequence[RescanVerdict], *, now: dt.datetime
) -> BlockUpdate:
    """Block each digest that failed, lift the block of each that passed, and write the
    blocks file."""
    update = update_blocks(state.blocks(), [v.outcome() for v in verdicts], now=now)
    state.save_blocks(update.blocks)
    return update


@task(
    name="rescan",
    task_run_name="rescan[{reference}]",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def rescan_digest(
    settings: Settings, reference: str, trivy_db: str, policy: GatePolicy
) -> RescanVerdict:
    tools = Toolbox(settings)
    verdict = rescan_one(
        reference,
        signer=tools.signer(),  # first: a missing key fails before the scan, not after
        scanner=tools.scanner(trivy_db),
        policy=policy,
        state=RescanState.under(settings.state_dir),
        trivy_db=trivy_db,
        now=dt.datetime.now(dt.UTC),
    )
    get_run_logger().info(
        "%s: vuln attestation signed; %s; %s",
        reference,
        verdict.summary,
        verdict.changes.summary(),
    )
    return verdict


@task(name="rescan-blocks", task_run_name="rescan-blocks")
def record_blocks(settings: Settings, verdicts: list[RescanVerdict]) -> BlockUpdate:
    """Write the blocks this run sets and lifts into the state folder."""
    update = apply_blocks(
        RescanState.under(settings.state_dir), verdicts, now=dt.datetime.now(dt.UTC)
    )
    log = get_run_logger()
    for digest in update.added:
        log.warning("%s blocked: %s", digest, update.blocks[digest].reason)
    for digest in update.lifted:
        log.info("%s: block lifted by a clean re-scan", digest)
    return update
