"""The run report over every way a service's line can end, without Prefect."""

from __future__ import annotations

import pytest

from seamline.errors import (
    EnvironmentProblem,
    GateFailure,
    ServiceUnavailable,
    ToolFailed,
    UsageError,
)
from seamline.run.report import (
    RunReport,
    ServiceStages,
    StageOutcome,
    SuiteCounts,
    build_report,
)
from seamline.run.results import (
    BuildTestResult,
    BuiltImage,
    BumpResult,
    PushedImage,
    SbomResult,
    ScanResult,
    SignResult,
)
from tasks.evidence import evidence_table, summary_markdown

REPO = "127.0.0.1:5000/bookstore/catalog"
DIGEST = "sha256:" + "4f" * 32
SIGNATURE = f"{REPO}:sha256-{'4f' * 32}.sig"
CLEAN = {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 1, "LOW": 2, "UNKNOWN": 0}
# A released service's line, in the order its stages run (push-then-scan).
RELEASE = ("build-test", "image", "push", "scan", "sbom", "sign", "attest-sbom")
RESULTS: dict[str, object] = {
    "build-test": BuildTestResult("catalog", 12, 0, 1),
    "image": None,
    "push": PushedImage("catalog", REPO, DIGEST),
    "scan": ScanResult("catalog", f"{REPO}@{DIGEST}", CLEAN, True, "ok", "sha256:db"),
    "sbom": SbomResult("catalog", "/state/catalog.spdx.json", 41),
    "sign": SignResult("catalog", f"{REPO}@{DIGEST}", SIGNATURE, ("slsa",)),
    "attest-sbom": SignResult("catalog", f"{REPO}@{DIGEST}", SIGNATURE, ("slsa", "spdx")),
}


def _line(
    failing: str | None = None,
    error: BaseException | None = None,
    *,
    state: str = "Completed",
    stages: tuple[str, ...] = RELEASE,
) -> ServiceStages:
    """Every stage before ``failing`` ran, ``failing`` raised ``error``, the rest never ran."""
    outcomes: dict[str, StageOutcome] = {}
    for stage in stages:
        if failing is not None and stage == failing:
            outcomes[stage] = StageOutcome("Failed", None, error)
        elif failing is not None and failing in outcomes:
            outcomes[stage] = StageOutcome("NotReady")
        else:
            outcomes[stage] = StageOutcome(state, RESULTS[stage])
    return ServiceStages(name="catalog", image=REPO, stages=outcomes)


def _report(*lines: ServiceStages, bump: StageOutcome | None = None) -> RunReport:
    return build_report(
        flow_run_id="run-1",
        flow_run_url="http://127.0.0.1:4200/runs/flow-run/run-1",
        event="push",
        source="file:///srv/bookstore.git",
        source_commit="c0ffee",
        overlay="dev",
        lines=lines,
        bump=bump,
    )


def test_a_passing_release() -> None:
    bumped = StageOutcome("Completed", BumpResult("dev", "d1d1", {}))
    report = _report(_line(), bump=bumped)
    assert (report.state, report.exit_code, report.errors, report.commit) == (
        "Completed",
        0,
        (),
        "d1d1",
    )
    [service] = report.services
    assert service.digest == DIGEST and service.gate == "passed" and service.findings == CLEAN
    assert service.signed and service.signature == SIGNATURE
    assert service.attestations == ("slsa", "spdx")  # the final stage's, not the signing's
    assert (service.sbom, service.sbom_packages) == ("/state/catalog.spdx.json", 41)
    assert service.tests == SuiteCounts(passed=12, failed=0, skipped=1)
    assert not service.cached
    assert service.stages == dict.fromkeys(RELEASE, "Completed")
    assert _line().signed_digest == DIGEST and _line().first_error is None
    assert service.reported == () and report.to_json()["services"][0]["reported"] == []


def test_check_failures_that_do_not_block_are_in_the_json() -> None:
    debt = "services/cart/main.go:31:10: Error return value of `w.Write` is not checked"
    line = _line()
    tests = BuildTestResult(
        "catalog", 12, 0, 1, (f"golangci-lint failed (does not block): {debt}",)
    )
    line.stages["build-test"] = StageOutcome("Completed", tests)
    [service] = _report(line).to_json()["services"]
    assert service["reported"] == [f"golangci-lint failed (does not block): {debt}"]


@pytest.mark.parametrize("failing", RELEASE)
def test_a_gate_failing_at_any_stage(failing: str) -> None:
    counts = {"CRITICAL": 1, "HIGH": 0}
    refused = GateFailure(f"{failing} said no", details={"counts": counts})
    line = _line(failing, refused)
    report = _report(line)
    assert (report.state, report.exit_code) == ("Failed", 1)
    [error] = report.errors
    assert (error.service, error.stage, error.kind, error.message) == (
        "catalog",
        failing,
        "gate",
        f"{failing} said no",
    )
    [service] = report.services
    ran = RELEASE[: RELEASE.index(failing)]
    expected_gate = "passed" if "scan" in ran else "skipped"
    assert service.gate == ("failed" if failing == "scan" else expected_gate)
    if failing == "scan":  # the refused scan still shows what it found
        assert service.findings == {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0}
    assert service.digest == (DIGEST if "push" in ran else None)
    assert service.stages[failing] == "Failed"
    assert all(service.stages[s] == "NotReady" for s in RELEASE[RELEASE.index(failing) + 1 :])
    assert line.signed_digest is None and line.first_error == f"{failing} said no"


def test_a_refused_bump_fails_the_run_with_no_commit() -> None:
    refused = StageOutcome("Failed", None, GateFailure("refusing to bump the overlay"))
    report = _report(_line(), bump=refused)
    assert (report.state, report.exit_code, report.commit) == ("Failed", 1, None)
    assert [(e.service, e.stage, e.kind) for e in report.errors] == [(None, "bump", "gate")]


@pytest.mark.parametrize(
    ("failing", "error"),
    [
        ("image", ToolFailed("docker build failed", returncode=1)),
        ("push", ServiceUnavailable("the registry does not answer")),
        ("sign", EnvironmentProblem("the signing key is unreadable")),
    ],
)
def test_an_environment_failure(failing: str, error: EnvironmentProblem) -> None:
    report = _report(_line(failing, error))
    assert (report.state, report.exit_code) == ("Failed", 3)
    assert [(e.stage, e.kind, e.message) for e in report.errors] == [
        (failing, "environment", error.message)
    ]
    assert report.services[0].gate != "failed"  # no policy said no


def test_an_unforeseen_error_is_named_by_its_type_and_exits_as_environment() -> None:
    report = _report(_line("scan", KeyError("layers")))
    [error] = report.errors
    assert (error.kind, error.message, report.exit_code) == ("error", "KeyError: 'layers'", 3)
    assert report.services[0].gate == "skipped"


def test_the_most_serious_error_decides_the_exit_code() -> None:
    def with_errors(*errors: BaseException) -> RunReport:
        stages = ("build-test", "image", "scan")
        return _report(*(_line(stages[i], e, stages=stages) for i, e in enumerate(errors)))

    assert with_errors().exit_code == 0
    assert with_errors(GateFailure("tests failed")).exit_code == 1
    assert with_errors(GateFailure("g"), UsageError("overlay moved")).exit_code == 2
    assert with_errors(GateFailure("g"), ToolFailed("t")).exit_code == 3
    assert with_errors(UsageError("u"), ToolFailed("t")).exit_code == 3
    assert with_errors(UsageError("u"), RuntimeError("bug")).exit_code == 3


def test_stages_skipped_after_an_upstream_failure_report_nothing() -> None:
    line = _line("build-test", GateFailure("2 tests failed"))
    [service] = _report(line).services
    assert service.tests is None and service.digest is None and service.findings is None
    assert service.gate == "skipped" and not service.signed and service.attestations == ()
    assert (service.sbom, service.sbom_packages, service.cached) == (None, None, False)
    assert list(service.stages.values()) == ["Failed"] + ["NotReady"] * (len(RELEASE) - 1)


def test_cached_only_when_every_stage_that_ran_was_a_cache_hit() -> None:
    assert _report(_line(state="Cached")).services[0].cached
    mixed = dict(_line(state="Cached").stages)
    mixed["attest-sbom"] = StageOutcome("Completed", RESULTS["attest-sbom"])
    assert not _report(ServiceStages("catalog", REPO, mixed)).services[0].cached
    nothing_ran = {s: StageOutcome("NotReady") for s in RELEASE}
    assert not _report(ServiceStages("catalog", REPO, nothing_ran)).services[0].cached


def test_a_build_and_scan_run_without_release_stages() -> None:
    line = _line(stages=("build-test", "image", "scan"))
    [service] = _report(line).services
    assert service.gate == "passed" and service.digest is None and not service.signed
    assert line.signed_digest is None


def test_the_json_document_has_exactly_the_documented_keys() -> None:
    failing = _line("scan", GateFailure("no"))
    public = _report(failing).to_json()
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
        "reported",
    ]
    assert list(public["errors"][0]) == ["service", "stage", "kind", "message"]


def test_the_evidence_renders_from_the_report() -> None:
    refused = StageOutcome("Failed", None, GateFailure("refusing to bump the overlay"))
    report = _report(_line(), _line("image", ToolFailed("docker build failed")), bump=refused)
    passed, broken = evidence_table(report)
    assert passed == {
        "service": "catalog",
        "digest": DIGEST,
        "gate": "passed",
        "findings (C H M L U)": "C0 H0 M1 L2 U0",
        "sbom packages": 41,
        "signature": SIGNATURE,
        "attestations": "slsa, spdx",
        "tests passed/failed": "12/0",
        "cached": "no",
    }
    assert broken["digest"] == broken["signature"] == broken["findings (C H M L U)"] == "-"
    assert broken["tests passed/failed"] == "12/0" and broken["gate"] == "skipped"
    summary = summary_markdown(report)
    assert summary.startswith("## seamline push run: Failed\n")
    assert "- catalog image (environment): docker build failed" in summary
    assert "- bump (gate): refusing to bump the overlay" in summary


def test_the_summary_shows_every_digest_signature_and_the_overlay_diff() -> None:
    diff = "--- a/kustomize/overlays/dev/kustomization.yaml\n+  digest: " + DIGEST
    bumped = StageOutcome("Completed", BumpResult("dev", "d1d1", {}, diff))
    report = _report(_line(), bump=bumped)
    assert report.overlay_diff == diff
    assert "overlay_diff" not in report.to_json()
    summary = summary_markdown(report)
    assert f"- image: `{REPO}@{DIGEST}`" in summary
    assert f"- signature: `{SIGNATURE}`" in summary
    assert "- attestation: `slsa`" in summary and "- attestation: `spdx`" in summary
    assert "- GitOps commit: `d1d1`" in summary
    assert f"```diff\n{diff}\n```" in summary


def test_a_pull_request_built_into_a_layout_names_its_digest_but_pushes_none() -> None:
    layout = BuiltImage("catalog", DIGEST, f"{REPO}:c0ffee", {}, {}, "t0", "t1", layout="/l")
    engine = BuiltImage("catalog", "sha256:" + "e" * 64, f"{REPO}:c0ffee", {}, {}, "t0", "t1")
    scanned = StageOutcome("Completed", RESULTS["scan"])
    for built, shown in ((layout, f"(not pushed; built as `{DIGEST}`)"), (engine, "(not pushed)")):
        line = ServiceStages(
            "catalog", REPO, {"image": StageOutcome("Completed", built), "scan": scanned}
        )
        report = _report(line)
        (service,) = report.services
        assert service.digest is None and "unpushed_digest" not in service.to_json()
        assert f"- image: `{REPO}` {shown}" in summary_markdown(report).splitlines()
