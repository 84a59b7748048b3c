"""Each pipeline stage's own logic, over fakes behind the tool roles fed recorded output
(trivy cosign-vuln predicates, a syft SPDX document, a `kustomize build`)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.errors import GateFailure, PushRejected, ToolFailed, UsageError
from seamline.policy.bump_precondition import ServiceOutcome
from seamline.run.inputs import RunInputs
from seamline.run.results import (
    BuiltImage,
    PushedImage,
    SbomResult,
    SignResult,
    SubstitutedBase,
    Workspace,
)
from seamline.run.vuln_attestation import latest_vuln_scan
from tasks import attest_sbom, bump, image, push, sbom, scan, sign
from tasks.context import RunContext
from tests.unit.fakes import (
    DATA,
    FakeBuilder,
    FakeRegistry,
    FakeSigner,
    FolderRemote,
    LinearHistory,
    RecordedEditor,
    RecordedSbomGenerator,
    RecordedScanner,
)

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
LOG = logging.getLogger("tests.stages")
COMMIT = "b" * 40
DIGEST = "sha256:" + "5" * 64
INPUTS = RunInputs(
    tool_versions={},
    sources={},
    dockerfiles={},
    checks={},
    build_args={"GO_BUILDER_IMAGE": "r/go:1", "RUNTIME_IMAGE": "r/static:1"},
    base_images={"r/go:1": "sha256:" + "1" * 64},
    trivy_db="sha256:" + "3" * 64,
    gate="g",
    today="2026-03-01",
    trust="trusted",
)
BUILT = BuiltImage(
    "catalog",
    "sha256:" + "4" * 64,
    "127.0.0.1:5000/bookstore/catalog:bbbbbbbbbbbb",
    {},
    {},
    "2026-03-01T10:00:00+00:00",
    "2026-03-01T10:01:00+00:00",
)
PUSHED = PushedImage("catalog", "127.0.0.1:5000/bookstore/catalog", DIGEST)


def _ctx(tmp_path: Path, **changes: object) -> RunContext:
    ctx = RunContext(
        settings=Settings(state_dir=tmp_path / "state", tools_dir=Path("/nonexistent")),
        workspace=Workspace(str(BOOKSTORE), "file:///src.git", COMMIT, "main", 1767225600),
        config=load_pipeline_config(BOOKSTORE),
        event="push",
        overlay="dev",
        inputs=INPUTS,
        flow_run_id="run-1",
        flow_run_url="http://prefect/runs/run-1",
    )
    return RunContext(**{**ctx.__dict__, **changes})  # type: ignore[arg-type]


def test_image_builds_with_the_commit_time_and_the_run_inputs(tmp_path: Path) -> None:
    builder = FakeBuilder()
    built = image.build(_ctx(tmp_path), "catalog", builder=builder, log=LOG)
    assert built.local_ref == "127.0.0.1:5000/bookstore/catalog:" + COMMIT[:12]
    assert built.build_args == INPUTS.build_args
    (call,) = builder.builds
    labels = call["labels"]
    assert isinstance(labels, dict)
    assert labels["org.opencontainers.image.created"] == "2026-01-01T00:00:00+00:00"
    assert labels["org.opencontainers.image.revision"] == COMMIT


def test_image_from_a_builder_that_pushes_records_the_registry_digest(tmp_path: Path) -> None:
    builder = FakeBuilder(pushes=True)
    built = image.build(_ctx(tmp_path), "catalog", builder=builder, log=LOG)
    assert builder.builds[0]["epoch"] == 1767225600  # the commit's time, for SOURCE_DATE_EPOCH
    assert built.registry_digest == built.image_id == DIGEST
    assert built.registry_ref == "127.0.0.1:5000/bookstore/catalog@" + DIGEST
    assert image.build(_ctx(tmp_path), "catalog", builder=FakeBuilder(), log=LOG).registry_ref == ""


def test_push_after_a_pushing_build_checks_the_registry_holds_the_built_digest(
    tmp_path: Path,
) -> None:
    name, tag = "bookstore/catalog", BUILT.local_ref.rpartition(":")[2]
    built = dataclasses.replace(BUILT, image_id=DIGEST, registry_digest=DIGEST)
    registry = FakeRegistry({(name, tag): DIGEST, (name, DIGEST): DIGEST})
    builder = FakeBuilder(pushes=True)
    assert push.push(_ctx(tmp_path), built, builder=builder, registry=registry, log=LOG) == PUSHED
    other = dataclasses.replace(built, registry_digest="sha256:" + "7" * 64)
    with pytest.raises(ToolFailed, match="not the built sha256:7777") as caught:
        push.push(_ctx(tmp_path), other, builder=builder, registry=registry, log=LOG)
    assert not caught.value.transient


def test_scan_before_push_reads_a_pushing_build_from_the_registry(tmp_path: Path) -> None:
    built = dataclasses.replace(BUILT, image_id=DIGEST, registry_digest=DIGEST)
    scanner = RecordedScanner("clean.cosign-vuln.json")
    scan.scan(_ctx(tmp_path), "catalog", built, scanner=scanner)
    scan.scan(_ctx(tmp_path), "catalog", BUILT, scanner=scanner)
    assert scanner.scanned == [(PUSHED.ref, False), (BUILT.local_ref, True)]


PIN = "sha256:" + "a" * 64
MIRROR_DIGEST = "sha256:" + "7" * 64
UPSTREAM_DOCKERFILE = (
    f"FROM --platform=$BUILDPLATFORM golang:1.26.5-alpine@{PIN} AS builder\n"
    "WORKDIR /src\n"
    "COPY . .\n"
    "RUN go build -o /out/catalog .\n"
    "FROM gcr.io/distroless/static:nonroot\n"
    "COPY --from=builder /out/catalog /catalog\n"
)


def _upstream_catalog(tmp_path: Path) -> RunContext:
    """The Bookstore with catalog's Dockerfile naming upstream bases, as real ones do."""
    repo = tmp_path / "repo"
    shutil.copytree(BOOKSTORE, repo)
    (repo / "app/catalog/Dockerfile").write_text(UPSTREAM_DOCKERFILE)
    inputs = RunInputs(
        **{
            **INPUTS.__dict__,
            "base_images": {
                **INPUTS.base_images,
                "127.0.0.1:5000/mirror/golang:1.26-alpine": MIRROR_DIGEST,
            },
        }
    )
    return _ctx(
        tmp_path,
        config=load_pipeline_config(repo),
        workspace=Workspace(str(repo), "file:///src.git", COMMIT, "main", 1767225600),
        inputs=inputs,
    )


def test_image_builds_a_copy_naming_the_mirrors_in_the_repository_context(
    tmp_path: Path,
) -> None:
    ctx = _upstream_catalog(tmp_path)
    builder = FakeBuilder()
    built = image.build(ctx, "catalog", builder=builder, log=LOG)
    (call,) = builder.builds
    repo = tmp_path / "repo"
    assert call["context"] == repo / "app/catalog"
    assert not Path(str(call["dockerfile"])).is_relative_to(repo)
    assert call["text"] == UPSTREAM_DOCKERFILE.replace(
        f"--platform=$BUILDPLATFORM golang:1.26.5-alpine@{PIN}",
        "--platform=linux/amd64 127.0.0.1:5000/mirror/golang:1.26-alpine",
    ).replace(
        "gcr.io/distroless/static:nonroot",
        "127.0.0.1:5000/mirror/distroless/static:nonroot",
    )
    assert (repo / "app/catalog/Dockerfile").read_text() == UPSTREAM_DOCKERFILE
    assert not Path(str(call["dockerfile"])).exists()  # the copy is gone after the build
    assert built.substituted == (
        SubstitutedBase(
            original=f"golang:1.26.5-alpine@{PIN}",
            original_digest=PIN,
            substituted="127.0.0.1:5000/mirror/golang:1.26-alpine",
            substituted_digest=MIRROR_DIGEST,
        ),
        SubstitutedBase(
            original="gcr.io/distroless/static:nonroot",
            original_digest="",
            substituted="127.0.0.1:5000/mirror/distroless/static:nonroot",
            substituted_digest="",
        ),
    )


def test_image_builds_the_repository_dockerfile_when_nothing_is_substituted(
    tmp_path: Path,
) -> None:
    builder = FakeBuilder()
    built = image.build(_ctx(tmp_path), "catalog", builder=builder, log=LOG)
    assert builder.builds[0]["dockerfile"] == str(BOOKSTORE / "app/catalog/Dockerfile")
    assert built.substituted == ()
    assert built.base_digests == INPUTS.base_images


def test_provenance_records_both_the_upstream_and_the_mirror(tmp_path: Path) -> None:
    ctx = _upstream_catalog(tmp_path)
    built = image.build(ctx, "catalog", builder=FakeBuilder(), log=LOG)
    sign.sign_attest(ctx, built, PUSHED, signer=FakeSigner(), log=LOG)
    provenance = json.loads(
        (tmp_path / "state/evidence/provenance" / f"{DIGEST.replace(':', '-')}.json").read_text()
    )
    images = provenance["buildDefinition"]["resolvedDependencies"][1:]
    assert images == [
        {"uri": "oci://r/go:1", "digest": {"sha256": "1" * 64}},
        {
            "uri": f"oci://golang:1.26.5-alpine@{PIN}",
            "digest": {"sha256": "a" * 64},
            "annotations": {"substitutedBy": "127.0.0.1:5000/mirror/golang:1.26-alpine"},
        },
        {
            "uri": "oci://127.0.0.1:5000/mirror/golang:1.26-alpine",
            "digest": {"sha256": "7" * 64},
            "annotations": {"substitutes": f"golang:1.26.5-alpine@{PIN}"},
        },
        {
            "uri": "oci://gcr.io/distroless/static:nonroot",
            "annotations": {"substitutedBy": "127.0.0.1:5000/mirror/distroless/static:nonroot"},
        },
        {
            "uri": "oci://127.0.0.1:5000/mirror/distroless/static:nonroot",
            "annotations": {"substitutes": "gcr.io/distroless/static:nonroot"},
        },
    ]


def test_a_builder_that_sets_platform_args_builds_the_copy_with_platform_as_written(
    tmp_path: Path,
) -> None:
    ctx = _upstream_catalog(tmp_path)
    builder = FakeBuilder(pushes=True, sets_platform_args=True)
    built = image.build(ctx, "catalog", builder=builder, log=LOG)
    (call,) = builder.builds
    assert not Path(str(call["dockerfile"])).is_relative_to(tmp_path / "repo")
    assert call["context"] == tmp_path / "repo/app/catalog"
    assert call["text"] == UPSTREAM_DOCKERFILE.replace(
        f"golang:1.26.5-alpine@{PIN}", "127.0.0.1:5000/mirror/golang:1.26-alpine"
    ).replace(
        "gcr.io/distroless/static:nonroot",
        "127.0.0.1:5000/mirror/distroless/static:nonroot",
    )
    assert call["epoch"] == 1767225600
    assert built.registry_digest == DIGEST
    assert [s.substituted for s in built.substituted] == [
        "127.0.0.1:5000/mirror/golang:1.26-alpine",
        "127.0.0.1:5000/mirror/distroless/static:nonroot",
    ]


def test_push_returns_the_digest_the_registry_holds(tmp_path: Path) -> None:
    name, tag = "bookstore/catalog", BUILT.local_ref.rpartition(":")[2]
    registry = FakeRegistry({(name, tag): DIGEST, (name, DIGEST): DIGEST})
    pushed = push.push(_ctx(tmp_path), BUILT, builder=FakeBuilder(), registry=registry, log=LOG)
    assert pushed == PUSHED


def test_push_overtaken_by_another_push_is_transient(tmp_path: Path) -> None:
    name, tag = "bookstore/catalog", BUILT.local_ref.rpartition(":")[2]
    other = "sha256:" + "6" * 64
    registry = FakeRegistry({(name, tag): other, (name, DIGEST): DIGEST})
    with pytest.raises(ToolFailed) as caught:
        push.push(_ctx(tmp_path), BUILT, builder=FakeBuilder(), registry=registry, log=LOG)
    assert caught.value.transient


def test_scan_of_a_clean_image_passes_and_keeps_the_report(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    scanner = RecordedScanner("clean.cosign-vuln.json")
    result = scan.require_passed(scan.scan(ctx, "catalog", PUSHED, scanner=scanner))
    assert scanner.scanned == [(PUSHED.ref, False)]
    assert result.counts["HIGH"] == result.counts["CRITICAL"] == 0
    recorded = json.loads((DATA / "trivy/clean.cosign-vuln.json").read_text())
    evidence = ctx.evidence_dir("catalog")
    assert json.loads((evidence / "trivy.json").read_text()) == recorded["scanner"]["result"]
    assert result.vuln_predicate == str(evidence / "vuln.json")
    kept = json.loads((evidence / "vuln.json").read_text())
    assert kept["scanner"]["result"] == recorded["scanner"]["result"]  # the same scan
    assert kept["metadata"] == recorded["metadata"]


def test_scan_gate_fails_on_recorded_high_findings(tmp_path: Path) -> None:
    scanner = RecordedScanner("vulnerable-x-text.cosign-vuln.json")
    result = scan.scan(_ctx(tmp_path), "catalog", BUILT, scanner=scanner)
    assert scanner.scanned == [(BUILT.local_ref, True)]  # before a push: the local image
    assert not result.passed
    with pytest.raises(GateFailure) as caught:
        scan.require_passed(result)
    assert caught.value.exit_code == 1
    assert "CVE-2022-32149" in caught.value.message


def test_sbom_is_kept_as_the_generator_wrote_it(tmp_path: Path) -> None:
    folder = tmp_path / "sbom"
    result = sbom.write_sbom(PUSHED, generator=RecordedSbomGenerator(), folder=folder)
    recorded = (Path(__file__).parents[1] / "data/syft/image-encoder-v1.57.1.spdx.json").read_text()
    assert Path(result.path).read_text() == recorded
    assert result.package_count == len(json.loads(recorded)["packages"]) == 3


def test_sign_attest_signs_once_and_verifies(tmp_path: Path) -> None:
    signer = FakeSigner()
    result = sign.sign_attest(_ctx(tmp_path), BUILT, PUSHED, signer=signer, log=LOG)
    assert signer.signed == {PUSHED.ref}
    assert signer.attested == [(PUSHED.ref, sign.PROVENANCE_TYPE)]
    assert result.signature.endswith(".sig")
    assert result.attestations == (f"{sign.PROVENANCE_TYPE}:{signer.attestation_ref(PUSHED.ref)}",)
    provenance = json.loads(
        (tmp_path / "state/evidence/provenance" / f"{DIGEST.replace(':', '-')}.json").read_text()
    )
    assert provenance["buildDefinition"]["externalParameters"]["source"]["revision"] == COMMIT


def test_sign_attest_attests_the_gate_scan_as_vuln_after_the_provenance(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path)
    scanned = scan.scan(ctx, "catalog", PUSHED, scanner=RecordedScanner("clean.cosign-vuln.json"))
    signer = FakeSigner()
    result = sign.sign_attest(
        ctx, BUILT, PUSHED, signer=signer, log=LOG, vuln_predicate=Path(scanned.vuln_predicate)
    )
    # one after the other on the digest's attestation tag, the provenance first
    assert signer.attested == [(PUSHED.ref, sign.PROVENANCE_TYPE), (PUSHED.ref, "vuln")]
    att = signer.attestation_ref(PUSHED.ref)
    assert result.attestations == (f"{sign.PROVENANCE_TYPE}:{att}", f"vuln:{att}")
    latest = latest_vuln_scan(signer, PUSHED.ref)
    assert latest is not None and latest.report.findings == ()


def test_sign_attest_without_the_scan_predicate_attests_provenance_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    signer = FakeSigner()
    gone = tmp_path / "evidence-of-an-old-run" / "vuln.json"
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        result = sign.sign_attest(
            _ctx(tmp_path), BUILT, PUSHED, signer=signer, log=LOG, vuln_predicate=gone
        )
    assert signer.attested == [(PUSHED.ref, sign.PROVENANCE_TYPE)]
    assert len(result.attestations) == 1
    assert "no vuln attestation until the re-scan" in caplog.text


def test_sign_refuses_a_signature_of_another_digest(tmp_path: Path) -> None:
    class Elsewhere(FakeSigner):
        def verify(self, reference: str) -> tuple[str, ...]:
            return ("sha256:" + "9" * 64,)

    with pytest.raises(GateFailure, match="no verified signature covers"):
        sign.sign_attest(_ctx(tmp_path), BUILT, PUSHED, signer=Elsewhere(), log=LOG)


def test_attest_sbom_adds_the_sbom_attestation(tmp_path: Path) -> None:
    signer = FakeSigner()
    document = tmp_path / "sbom.json"
    document.write_text("{}")
    signed = SignResult("catalog", PUSHED.ref, "sig", ("slsaprovenance1:att",))
    result = attest_sbom.attest(signed, SbomResult("catalog", str(document), 3), signer=signer)
    assert result.attestations == ("slsaprovenance1:att", f"{attest_sbom.SBOM_TYPE}:att")
    assert signer.attested == [(PUSHED.ref, attest_sbom.SBOM_TYPE)]


@contextlib.contextmanager
def _no_lock(name: str) -> Iterator[None]:
    assert name.startswith("seamline-bump-")
    yield


def _seams(remote: FolderRemote, editor: RecordedEditor) -> bump.Seams:
    return bump.Seams(remote, editor, LinearHistory(), LOG, _no_lock)


ORDERS = "127.0.0.1:5000/bookstore/orders@sha256:" + "a" * 64
CATALOG = "127.0.0.1:5000/bookstore/catalog@sha256:" + "c" * 64


def _outcomes() -> list[ServiceOutcome]:
    return [
        ServiceOutcome(name, f"bookstore/{name}", ref.partition("@")[0], ref.partition("@")[2])
        for name, ref in (("catalog", CATALOG), ("orders", ORDERS))
    ]


def test_bump_commits_the_new_digests_after_a_push_race(tmp_path: Path) -> None:
    remote = FolderRemote(BOOKSTORE, rejections=1)
    editor = RecordedEditor("dev-catalog-orders-set.yaml")
    result = bump.bump(_ctx(tmp_path), _outcomes(), _seams(remote, editor))
    assert result.commit is not None
    assert len(remote.commits) == 2 and remote.pushed == [remote.commits[-1]]
    assert editor.edits[-1] == {"bookstore/catalog": CATALOG, "bookstore/orders": ORDERS}
    assert f"bookstore/orders: {ORDERS}" in remote.pushed[0]


def test_bump_refuses_an_image_no_manifest_renders(tmp_path: Path) -> None:
    remote = FolderRemote(BOOKSTORE)
    editor = RecordedEditor("dev-catalog-orders-set.yaml")
    other = "127.0.0.1:5000/bookstore/catalog@sha256:" + "d" * 64
    outcomes = [ServiceOutcome("catalog", "bookstore/catalog", *other.split("@"))]
    with pytest.raises(UsageError, match="bookstore/catalog"):
        bump.bump(_ctx(tmp_path), outcomes, _seams(remote, editor))
    assert remote.pushed == []


def test_bump_gives_up_when_the_branch_keeps_moving(tmp_path: Path) -> None:
    remote = FolderRemote(BOOKSTORE, rejections=bump.PUSH_ATTEMPTS)
    editor = RecordedEditor("dev-catalog-orders-set.yaml")
    with pytest.raises(PushRejected, match="kept moving"):
        bump.bump(_ctx(tmp_path), _outcomes(), _seams(remote, editor))
