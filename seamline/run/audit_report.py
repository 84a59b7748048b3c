"""The overlay audit's report: per overlay, each image it deploys, admitted or refused, why.

It answers "what would an admission policy that verifies images admit today, and what would
it refuse and why" (the readiness check before switching such a policy from Audit to
Enforce). Built once, by a pure function over what the overlays render and each distinct
reference's verdict; serialized once for ``seamline audit --json`` (``AuditReport.to_json``),
once as the Prefect UI's tables (``OverlayAudit.table``), and once for people
(``report_lines``, from that JSON form, so a run that failed prints the same table). A
refused image fails the run (``AuditReport.refusal``) and is exit 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seamline.errors import GateFailure
from seamline.overlay.rendered import WorkloadImage
from seamline.policy.audit import Admission, decide_admission


@dataclass(frozen=True)
class OverlayImages:
    """What one overlay renders: its name and every container image in it."""

    overlay: str
    images: tuple[WorkloadImage, ...]


@dataclass(frozen=True)
class AuditRow:
    """One image reference an overlay deploys, and the verdict on it."""

    reference: str
    workloads: tuple[str, ...]  # Kind/name of each workload using it
    admission: Admission

    @property
    def image(self) -> str:
        """The reference without its tag or digest (as written: registry/repository)."""
        name = self.reference.partition("@")[0]
        head, slash, last = name.rpartition("/")
        return f"{head}{slash}{last.partition(':')[0]}"

    @property
    def admitted(self) -> bool:
        return self.admission.admitted

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "reference": self.reference,
            "digest": self.admission.digest,
            "workloads": list(self.workloads),
            "verdict": "admit" if self.admitted else "refuse",
            "reasons": list(self.admission.reasons),
            "checks": [
                {"check": o.check, "passed": o.passed, "detail": o.detail}
                for o in self.admission.outcomes
            ],
        }


def artifact_key(overlay: str) -> str:
    """``audit-<overlay>`` in the lowercase-dash form Prefect artifact keys take."""
    return "audit-" + re.sub(r"[^a-z0-9-]+", "-", overlay.lower())


@dataclass(frozen=True)
class OverlayAudit:
    overlay: str
    rows: tuple[AuditRow, ...]

    @property
    def refused(self) -> tuple[AuditRow, ...]:
        return tuple(r for r in self.rows if not r.admitted)

    def table(self) -> list[dict[str, str]]:
        """The rows of the overlay's ``audit-<overlay>`` table artifact."""
        return [
            {
                "image": row.image,
                "digest": row.admission.digest or "-",
                "verdict": "admit" if row.admitted else "REFUSE",
                "reasons": "; ".join(row.admission.reasons) or "-",
                "workloads": ", ".join(row.workloads),
            }
            for row in self.rows
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "overlay": self.overlay,
            "admitted": not self.refused,
            "images": [row.to_json() for row in self.rows],
        }


@dataclass(frozen=True)
class AuditReport:
    gitops_commit: str  # the GitOps commit the overlays were rendered at
    overlays: tuple[OverlayAudit, ...]

    @property
    def refused(self) -> tuple[AuditRow, ...]:
        return tuple(row for overlay in self.overlays for row in overlay.refused)

    @property
    def exit_code(self) -> int:
        return 1 if self.refused else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "gitops_commit": self.gitops_commit,
            "admitted": not self.refused,
            "overlays": [overlay.to_json() for overlay in self.overlays],
        }

    def lines(self) -> list[str]:
        """The report as people read it on stderr: a table per overlay."""
        return report_lines(self.to_json())

    def refusal(self) -> GateFailure | None:
        """What fails the audit run when an image would be refused: how many, in which
        overlays; its details carry the report (``to_json``) for ``seamline audit``."""
        counts = [(o.overlay, len(o.refused)) for o in self.overlays if o.refused]
        if not counts:
            return None
        where = ", ".join(f"{n} in overlay {overlay}" for overlay, n in counts)
        return GateFailure(
            f"{len(self.refused)} image(s) would be refused by an image-verifying admission "
            f"policy: {where}",
            hint="see each refused image's reasons in the audit tables; pin it by digest, "
            "or let CI sign and attest it",
            details={"report": self.to_json()},
        )


def report_lines(report: Mapping[str, Any]) -> list[str]:
    """An audit report's JSON form (``AuditReport.to_json``) as people read it on stderr:
    a table per overlay, then the verdict."""
    out: list[str] = []
    refused_total = 0
    for overlay in report["overlays"]:
        images = overlay["images"]
        refused = sum(1 for image in images if image["verdict"] != "admit")
        refused_total += refused
        out.append(
            f"overlay {overlay['overlay']}: {len(images)} image(s), "
            f"{len(images) - refused} admitted, {refused} refused"
        )
        width = max((len(image["image"]) for image in images), default=0)
        for image in images:
            verdict = "admit " if image["verdict"] == "admit" else "REFUSE"
            digest = image["digest"] or "(no digest)"
            out.append(f"  {verdict}  {image['image']:<{width}}  {digest}")
            out += [f"          {reason}" for reason in image["reasons"]]
    out.append(
        f"{refused_total} image(s) would be refused"
        if refused_total
        else "every image would be admitted"
    )
    return out


def build_audit_report(
    gitops_commit: str,
    overlays: Sequence[OverlayImages],
    admissions: Mapping[str, Admission],
) -> AuditReport:
    """One table per overlay, one row per distinct reference it deploys (in the order its
    manifests first use it), each with the verdict on that reference (refused as unchecked
    when there is none)."""
    audited: list[OverlayAudit] = []
    for rendered in overlays:
        workloads: dict[str, list[str]] = {}
        for image in rendered.images:
            users = workloads.setdefault(image.image, [])
            if image.workload not in users:
                users.append(image.workload)
        rows = []
        for reference, users in workloads.items():
            admission = admissions.get(reference) or decide_admission(reference, ())
            rows.append(AuditRow(reference, tuple(users), admission))
        audited.append(OverlayAudit(rendered.overlay, tuple(rows)))
    return AuditReport(gitops_commit, tuple(audited))
