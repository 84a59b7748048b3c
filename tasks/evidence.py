"""The run's evidence: one table a reviewer reads in the Prefect UI, and a summary."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from seamline.run.results import SEVERITIES


def _findings(counts: dict[str, int] | None) -> str:
    if counts is None:
        return "-"
    return " ".join(f"{s[0]}{counts.get(s, 0)}" for s in SEVERITIES)


@task(name="evidence")
def publish_evidence(report: dict[str, Any]) -> None:
    rows = [
        {
            "service": s["name"],
            "digest": s["digest"] or "-",
            "gate": s["gate"],
            "findings (C H M L U)": _findings(s["findings"]),
            "sbom packages": s["sbom_packages"] if s["sbom_packages"] is not None else "-",
            "signature": s["signature"] or "-",
            "attestations": ", ".join(s["attestations"]) or "-",
            "tests passed/failed": (
                f"{s['tests']['passed']}/{s['tests']['failed']}" if s["tests"] else "-"
            ),
            "cached": "yes" if s["cached"] else "no",
        }
        for s in report["services"]
    ]
    create_table_artifact(
        key="seamline-run", table=rows, description="Per-service evidence of this run"
    )
    lines = [
        f"## seamline {report['event']} run: {report['state']}",
        "",
        f"- source: `{report['source']}` @ `{report['source_commit']}`",
        f"- overlay: `{report['overlay']}`",
        f"- GitOps commit: `{report['commit'] or 'none'}`",
    ]
    if report["errors"]:
        lines += ["", "### Errors", ""] + [f"- {e}" for e in report["errors"]]
    create_markdown_artifact(
        key="seamline-summary", markdown="\n".join(lines), description="Run summary"
    )
