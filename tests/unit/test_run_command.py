from __future__ import annotations

from typing import Any

from deployments.run_command import exit_code, public_report


def _report(*kinds: str) -> dict[str, Any]:
    service = {
        "name": "catalog",
        "image": "r/catalog",
        "digest": None,
        "findings": None,
        "gate": "skipped",
        "sbom": None,
        "signed": False,
        "attestations": [],
        "cached": False,
        "sbom_packages": None,
        "signature": None,
        "tests": None,
        "stages": {},
    }
    return {
        "flow_run_id": "id",
        "flow_run_url": "u",
        "state": "Failed" if kinds else "Completed",
        "event": "push",
        "source": "s",
        "source_commit": "c",
        "commit": None,
        "overlay": "dev",
        "services": [service],
        "errors": [{"service": "catalog", "stage": "x", "kind": k, "message": "m"} for k in kinds],
    }


def test_exit_codes() -> None:
    assert exit_code(_report()) == 0
    assert exit_code(_report("gate")) == 1
    assert exit_code(_report("gate", "environment")) == 3
    assert exit_code(_report("error")) == 3
    assert exit_code(_report("gate", "usage")) == 2  # an overlay changed under the run
    assert exit_code(_report("usage", "environment")) == 3


def test_public_report_has_exactly_the_documented_keys() -> None:
    public = public_report(_report())
    assert list(public) == [
        "flow_run_id",
        "state",
        "event",
        "commit",
        "overlay",
        "services",
        "errors",
    ]
    assert list(public["services"][0]) == [
        "name",
        "image",
        "digest",
        "findings",
        "gate",
        "sbom",
        "signed",
        "attestations",
        "cached",
    ]
