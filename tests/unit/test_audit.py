"""The overlay audit over fakes: the images a real ``kustomize build`` rendering deploys,
one table per overlay with each image admitted or refused and why, the exit code, the
``--json`` object, and an unknown overlay as a usage error."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pytest

from deployments.audit_command import audit_payload
from seamline.config.settings import PROJECT_ROOT
from seamline.errors import ServiceUnavailable, UsageError
from seamline.overlay.rendered import WorkloadImage, rendered_images
from seamline.policy.audit import AUDIT_CHECKS, decide_admission
from seamline.policy.gate import GatePolicy
from seamline.run.audit_report import (
    AuditReport,
    AuditRow,
    OverlayAudit,
    OverlayImages,
    artifact_key,
    build_audit_report,
    report_lines,
)
from seamline.run.rescan_state import RescanState
from seamline.validate.image_ref import ImageRef
from tasks import audit
from tasks.attest_sbom import SBOM_TYPE
from tasks.sign import PROVENANCE_TYPE
from tests.unit.fakes import DATA, FakeRegistry, FakeSigner, RecordedEditor, WorkTreeRemote

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
REGISTRY = "127.0.0.1:5000"
CATALOG = f"{REGISTRY}/bookstore/catalog@sha256:" + "c" * 64
ORDERS = f"{REGISTRY}/bookstore/orders@sha256:" + "a" * 64
PAYMENTS = f"{REGISTRY}/bookstore/payments-worker:0.0.0"
STOREFRONT = f"{REGISTRY}/bookstore/storefront:0.0.0"
RENDERED = "dev-catalog-orders-set.yaml"  # a recorded render: two digests, two tags


@pytest.fixture
def remote(tmp_path: Path) -> WorkTreeRemote:
    folder = tmp_path / "gitops"
    shutil.copytree(BOOKSTORE, folder)
    return WorkTreeRemote(folder)


def _read(remote: WorkTreeRemote, tmp_path: Path, overlay: str = "") -> audit.RenderedOverlays:
    work = tmp_path / f"look-{len(list(tmp_path.glob('look-*')))}"
    return audit.read_overlays(
        remote,
        RecordedEditor(RENDERED),
        work,
        overlay=overlay,
        gate_of=lambda _config: GatePolicy.from_strings(["HIGH,CRITICAL"]),
    )


def test_a_rendering_yields_every_container_image_as_written() -> None:
    images = rendered_images((DATA / "kustomize" / RENDERED).read_text(), overlay="dev")
    assert [i.image for i in images] == [CATALOG, ORDERS, PAYMENTS, STOREFRONT]
    assert images[0] == WorkloadImage("Deployment/catalog", "catalog", CATALOG)


def test_init_ephemeral_and_cronjob_containers_count_too() -> None:
    manifests = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers: [{name: migrate, image: r/migrate:1}]
          containers: [{name: job, image: r/job@sha256:%s}]
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: main, image: r/main:2}]
  ephemeralContainers: [{name: shell, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {image: not-a-container}
""" % ("e" * 64)
    assert [(i.workload, i.image) for i in rendered_images(manifests, overlay="x")] == [
        ("CronJob/nightly", "r/migrate:1"),
        ("CronJob/nightly", "r/job@sha256:" + "e" * 64),
        ("Pod/debug", "r/main:2"),
        ("Pod/debug", "busybox"),
    ]


def test_a_rendering_that_is_not_yaml_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="overlay dev rendered manifests that are not YAML"):
        rendered_images("a: [unclosed", overlay="dev")


def test_every_overlay_is_rendered_and_the_repositories_named(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    rendered = _read(remote, tmp_path)
    assert [o.overlay for o in rendered.overlays] == ["dev", "prod", "staging"]
    assert rendered.references() == (CATALOG, ORDERS, PAYMENTS, STOREFRONT)
    assert rendered.gitops_commit == remote.head and rendered.registry == REGISTRY
    assert rendered.repositories() == tuple(
        f"{REGISTRY}/bookstore/{s}" for s in ("catalog", "orders", "payments-worker", "storefront")
    )
    assert [o.overlay for o in _read(remote, tmp_path, "prod").overlays] == ["prod"]


@pytest.mark.parametrize("name", ["qa", "Prod!"])
def test_an_unknown_or_invalid_overlay_is_a_usage_error(
    remote: WorkTreeRemote, tmp_path: Path, name: str
) -> None:
    with pytest.raises(UsageError) as raised:
        _read(remote, tmp_path, name)
    assert raised.value.exit_code == 2


def _signer(
    *references: str, sbom: tuple[str, ...] = (), provenance: tuple[str, ...] = ()
) -> FakeSigner:
    """Signatures on ``references``; SBOM and provenance attestations on those named."""
    return FakeSigner(
        signed=set(references),
        attested=[(r, SBOM_TYPE) for r in sbom] + [(r, PROVENANCE_TYPE) for r in provenance],
    )


def _report(
    tmp_path: Path,
    rendered: audit.RenderedOverlays,
    overlays: Sequence[OverlayImages],
    signer: FakeSigner,
) -> AuditReport:
    """What the flow does: check each distinct reference once, build the report. The
    registry holds both digests."""
    held = {
        (ImageRef.parse(r).repository, r.partition("@")[2]): r.partition("@")[2]
        for r in (CATALOG, ORDERS)
    }
    references = {image.image for overlay in overlays for image in overlay.images}
    admissions = {
        reference: audit.audit_reference(
            reference,
            registry_name=REGISTRY,
            registry=FakeRegistry(held),
            signer=signer,
            vulnerabilities=partial(
                audit.latest_vulnerability_result,
                signer=signer,
                gate=GatePolicy.from_strings(["HIGH,CRITICAL"]),
                blocks=RescanState.under(tmp_path / "state").block_for,
            ),
        )
        for reference in sorted(references)
    }
    return build_audit_report(rendered.gitops_commit, overlays, admissions)


def test_the_report_admits_signed_attested_digests_and_refuses_tags_with_the_reason(
    remote: WorkTreeRemote, tmp_path: Path
) -> None:
    rendered = _read(remote, tmp_path, "dev")
    signer = _signer(CATALOG, sbom=(CATALOG, ORDERS), provenance=(CATALOG,))
    report = _report(tmp_path, rendered, rendered.overlays, signer)
    refusal = report.refusal()
    assert refusal is not None and refusal.exit_code == 1
    assert refusal.message.startswith("3 image(s) would be refused")
    assert refusal.message.endswith(": 3 in overlay dev")
    # The run fails with the refusal; the command still prints and returns the report.
    code, payload = audit_payload("run-3", "Failed", refusal)
    assert code == 1
    assert payload["flow_run_id"] == "run-3" and payload["state"] == "Failed"
    assert payload["errors"] == [{"error": refusal.message, "hint": refusal.hint, "exit_code": 1}]
    assert payload["overlays"] == report.to_json()["overlays"]
    assert payload["admitted"] is False and payload["gitops_commit"] == remote.head
    (dev,) = payload["overlays"]
    rows = {row["image"]: row for row in dev["images"]}
    assert list(rows) == [
        f"{REGISTRY}/bookstore/{s}" for s in ("catalog", "orders", "payments-worker", "storefront")
    ]
    catalog = rows[f"{REGISTRY}/bookstore/catalog"]
    assert catalog["verdict"] == "admit" and catalog["reasons"] == []
    assert catalog["digest"] == CATALOG.partition("@")[2]
    assert catalog["workloads"] == ["Deployment/catalog"]
    assert [c["check"] for c in catalog["checks"]] == list(AUDIT_CHECKS)
    orders = rows[f"{REGISTRY}/bookstore/orders"]
    assert orders["verdict"] == "refuse"
    assert [r.partition(":")[0] for r in orders["reasons"]] == [
        "signature",
        "provenance-attestation",
    ]
    payments = rows[f"{REGISTRY}/bookstore/payments-worker"]
    assert payments["digest"] is None
    assert payments["reasons"] == ["pinned-by-digest: pinned by tag :0.0.0 only, not by digest"]
    json.dumps(payload)  # one JSON object, as printed

    (table,) = report.overlays
    assert artifact_key(table.overlay) == "audit-dev"
    assert [row["verdict"] for row in table.table()] == ["admit", "REFUSE", "REFUSE", "REFUSE"]
    lines = report.lines()
    assert lines[0] == "overlay dev: 4 image(s), 1 admitted, 3 refused"
    assert any("REFUSE" in line and "bookstore/storefront" in line for line in lines)
    assert lines[-1] == "3 image(s) would be refused"


def test_every_image_admitted_is_exit_0(remote: WorkTreeRemote, tmp_path: Path) -> None:
    rendered = _read(remote, tmp_path, "dev")
    pinned = tuple(i for i in rendered.overlays[0].images if i.image in (CATALOG, ORDERS))
    both = (CATALOG, ORDERS)
    report = _report(
        tmp_path,
        rendered,
        [OverlayImages("dev", pinned)],
        _signer(*both, sbom=both, provenance=both),
    )
    assert report.refusal() is None
    code, payload = audit_payload("run-4", "Completed", report)
    assert code == 0 and payload["admitted"] is True and payload["errors"] == []
    assert [row["verdict"] for row in payload["overlays"][0]["images"]] == ["admit", "admit"]
    assert report.lines()[-1] == "every image would be admitted"


def test_an_audit_that_ended_in_an_error_keeps_its_exit_code() -> None:
    code, payload = audit_payload(
        "run-5", "Failed", ServiceUnavailable("registry down", hint="stack up")
    )
    assert code == 3
    assert payload["overlays"] == [] and payload["admitted"] is False
    assert payload["errors"] == [{"error": "registry down", "hint": "stack up", "exit_code": 3}]


def test_a_refusal_names_how_many_images_in_which_overlays() -> None:
    ref = f"{REGISTRY}/bookstore/catalog:1"
    refused = AuditRow(ref, ("Deployment/catalog",), decide_admission(ref, ()))
    report = AuditReport(
        "abc",
        (
            OverlayAudit("dev", (refused, refused)),
            OverlayAudit("staging", ()),
            OverlayAudit("prod", (refused,)),
        ),
    )
    refusal = report.refusal()
    assert refusal is not None
    assert refusal.message == (
        "3 image(s) would be refused by an image-verifying admission policy: "
        "2 in overlay dev, 1 in overlay prod"
    )
    assert report_lines(refusal.details["report"]) == report.lines()  # type: ignore[arg-type]
    assert report.lines()[-1] == "3 image(s) would be refused"
