"""The audit's verdict on one image, over fakes behind the tool roles: each reason an
admission policy would refuse an image for, named, and an image with all its evidence
admitted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from seamline.errors import ServiceUnavailable, ToolFailed, UsageError
from seamline.policy.audit import (
    AUDIT_CHECKS,
    decide_admission,
    pinned_check,
    presence_check,
)
from seamline.policy.checks import VULNERABILITIES, CheckOutcome
from seamline.policy.gate import GatePolicy
from seamline.policy.rescan import RescanBlock
from seamline.run.rescan_state import RescanState
from tasks.attest_sbom import SBOM_TYPE
from tasks.audit import audit_reference, latest_vulnerability_result
from tasks.sign import PROVENANCE_TYPE
from tests.unit.fakes import FakeRegistry, FakeSigner

REGISTRY = "127.0.0.1:5000"
DIGEST = "sha256:" + "c" * 64
CATALOG = f"{REGISTRY}/bookstore/catalog@{DIGEST}"


def _signer(
    *, signed: bool = True, kinds: tuple[str, ...] = (SBOM_TYPE, PROVENANCE_TYPE)
) -> FakeSigner:
    return FakeSigner(
        signed={CATALOG} if signed else set(), attested=[(CATALOG, kind) for kind in kinds]
    )


def _held(*references: str) -> FakeRegistry:
    held = {}
    for reference in references:
        name, _, digest = reference.partition("@")
        held[(name.partition("/")[2], digest)] = digest
    return FakeRegistry(held)


def _audit(
    reference: str = CATALOG,
    *,
    signer: FakeSigner | None = None,
    registry: FakeRegistry | None = None,
    vulnerabilities: Callable[[str], CheckOutcome] | None = None,
    tmp: Path | None = None,
) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """The verdict, its reasons, and the checks that ran."""
    state = RescanState.under(tmp or Path("/nonexistent-state"))
    admission = audit_reference(
        reference,
        registry_name=REGISTRY,
        registry=registry if registry is not None else _held(CATALOG),
        signer=signer if signer is not None else _signer(),
        vulnerabilities=vulnerabilities
        or partial(
            latest_vulnerability_result,
            signer=signer if signer is not None else _signer(),
            gate=GatePolicy.from_strings(["HIGH,CRITICAL"]),
            blocks=state.block_for,
        ),
    )
    return admission.admitted, admission.reasons, tuple(o.check for o in admission.outcomes)


def test_an_image_with_all_its_evidence_is_admitted_after_every_check() -> None:
    admitted, reasons, ran = _audit()
    assert admitted and reasons == ()
    assert ran == AUDIT_CHECKS


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        (f"{REGISTRY}/bookstore/catalog:0.0.0", "pinned-by-digest: pinned by tag :0.0.0 only"),
        (f"{REGISTRY}/bookstore/catalog", "pinned-by-digest: not pinned: no tag and no digest"),
        ("Bad Image", "pinned-by-digest: image reference 'Bad Image' is not valid"),
    ],
)
def test_an_image_not_pinned_by_digest_is_refused_without_asking_cosign(
    reference: str, reason: str
) -> None:
    class Untouchable(FakeSigner):
        def verify(self, reference: str) -> tuple[str, ...]:
            raise AssertionError("cosign asked about an unpinned image")

    admitted, reasons, ran = _audit(reference, signer=Untouchable())
    assert not admitted and len(reasons) == 1 and reasons[0].startswith(reason)
    assert ran == ("pinned-by-digest",)


def test_a_digest_the_registry_does_not_hold_is_refused() -> None:
    admitted, reasons, ran = _audit(registry=_held())
    assert not admitted
    assert reasons == (
        f"in-registry: the registry holds no manifest {DIGEST} in bookstore/catalog",
    )
    assert ran == ("pinned-by-digest", "in-registry")


def test_an_image_from_another_registry_is_refused_as_unverified() -> None:
    foreign = f"ghcr.io/acme/tool@{DIGEST}"
    admitted, reasons, _ = _audit(foreign, registry=_held(foreign))
    assert not admitted and reasons[0].startswith("in-registry: outside the registry 127.0.0.1")


@pytest.mark.parametrize(
    ("signer", "reason"),
    [
        (_signer(signed=False), "signature: no signature by key:fake covers"),
        (_signer(kinds=(PROVENANCE_TYPE,)), "sbom-attestation: 0 verified spdxjson"),
        (_signer(kinds=(SBOM_TYPE,)), "provenance-attestation: 0 verified slsaprovenance1"),
    ],
)
def test_missing_evidence_is_refused_with_the_check_that_found_it(
    signer: FakeSigner, reason: str
) -> None:
    admitted, reasons, ran = _audit(signer=signer)
    assert not admitted and len(reasons) == 1 and reasons[0].startswith(reason)
    assert ran == AUDIT_CHECKS  # every evidence check ran, so each failure is named


def test_every_failing_evidence_check_is_a_reason() -> None:
    admitted, reasons, _ = _audit(signer=_signer(signed=False, kinds=()))
    assert not admitted
    assert [r.partition(":")[0] for r in reasons] == [
        "signature",
        "sbom-attestation",
        "provenance-attestation",
    ]


def test_cosign_saying_no_is_a_reason_and_a_network_fault_is_raised_for_a_retry() -> None:
    class Refusing(FakeSigner):
        transient = False

        def verify(self, reference: str) -> tuple[str, ...]:
            raise ToolFailed("no matching signatures", transient=self.transient)

    signer = Refusing(signed={CATALOG}, attested=_signer().attested)
    admitted, reasons, _ = _audit(signer=signer)
    assert not admitted and reasons == ("signature: no matching signatures",)
    signer.transient = True
    with pytest.raises(ToolFailed):
        _audit(signer=signer)


def test_an_unreachable_registry_is_raised_not_reported_as_a_refusal() -> None:
    class Down(FakeRegistry):
        def manifest_digest(self, name: str, reference: str) -> str | None:
            raise ServiceUnavailable("registry did not answer")

    with pytest.raises(ServiceUnavailable):
        _audit(registry=Down({}))


def test_an_open_rescan_block_refuses_the_digest_with_its_findings(tmp_path: Path) -> None:
    state = RescanState.under(tmp_path)
    since = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    state.save_blocks(
        {
            DIGEST: RescanBlock(
                digest=DIGEST,
                reference=CATALOG,
                reason="1 finding(s) at or above HIGH",
                findings=("CVE-2022-32149 golang.org/x/text",),
                since=since,
            )
        }
    )
    admitted, reasons, _ = _audit(tmp=tmp_path)
    assert not admitted
    assert reasons == (
        "vulnerabilities: no vuln attestation by key:fake; seamline's re-scan state: "
        f"blocked since {since.isoformat()}: 1 finding(s) at or above HIGH: "
        "CVE-2022-32149 golang.org/x/text",
    )


def test_the_vulnerability_check_is_one_replaceable_function() -> None:
    def attested(reference: str) -> CheckOutcome:
        return CheckOutcome(
            check=VULNERABILITIES, passed=False, detail=f"vuln says no: {reference}"
        )

    admitted, reasons, _ = _audit(vulnerabilities=attested)
    assert not admitted and reasons == (f"vulnerabilities: vuln says no: {CATALOG}",)


def test_pinned_and_presence_checks_read_the_reference_as_written() -> None:
    assert pinned_check(CATALOG).passed
    assert pinned_check(f"{REGISTRY}/bookstore/catalog:1.0@{DIGEST}").passed
    assert not presence_check(CATALOG, registry=REGISTRY, found="sha256:" + "d" * 64).passed
    assert presence_check(CATALOG, registry=REGISTRY, found=DIGEST).passed


def test_a_check_that_did_not_run_counts_against_the_image() -> None:
    nothing = decide_admission(CATALOG, ())
    assert not nothing.admitted
    assert nothing.reasons == tuple(f"{c}: not run" for c in AUDIT_CHECKS)
    partial_run = decide_admission(
        CATALOG, [CheckOutcome(check=c, passed=True, detail="ok") for c in AUDIT_CHECKS[:-1]]
    )
    assert not partial_run.admitted and partial_run.reasons == ("vulnerabilities: not run",)


def test_a_check_the_audit_does_not_know_is_refused() -> None:
    with pytest.raises(UsageError, match="not an audit check: scan-gate"):
        decide_admission(CATALOG, [CheckOutcome(check="scan-gate", passed=True, detail="")])
