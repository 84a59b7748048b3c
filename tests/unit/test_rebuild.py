"""verify-rebuild's pure parts over recorded real output: the manifests and configs
buildkitd v0.34.2 pushed for one service built the way seamline builds it, from a commit
and from a copy of it with one context file changed; and the rebuild inputs read back
from the provenance seamline attests."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from seamline.adapters.oci_layout import OciLayout
from seamline.errors import GateFailure, ToolFailed, UsageError
from seamline.policy.findings import ReportFormatError
from seamline.policy.rebuild import compare_manifests, layer_instructions
from seamline.run.provenance import PROVENANCE_TYPE, BuildFacts, slsa_provenance
from seamline.run.rebuild_inputs import read_rebuild_inputs, verified_rebuild_inputs
from seamline.run.results import SubstitutedBase
from tasks.verify_rebuild import compare_sources
from tests.unit.fakes import DATA, FakeSigner

RECORDED = DATA / "rebuild"


def _json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return data


def _digest(name: str) -> str:
    return (RECORDED / f"{name}-digest.txt").read_text().strip()


def test_one_digest_is_identical_without_reading_manifests() -> None:
    digest = _digest("recorded")
    same = compare_manifests(
        recorded_digest=digest, recorded_manifest={}, rebuilt_digest=digest, rebuilt_manifest={}
    )
    assert same.identical and same.layers == () and not same.config_differs
    assert same.as_json()["identical"] is True


def test_a_changed_context_file_is_the_top_layer_with_its_instruction() -> None:
    recorded, tampered = _json("recorded-manifest.json"), _json("tampered-manifest.json")
    comparison = compare_manifests(
        recorded_digest=_digest("tampered"),
        recorded_manifest=tampered,
        rebuilt_digest=_digest("recorded"),
        rebuilt_manifest=recorded,
        rebuilt_config=_json("recorded-config.json"),
    )
    assert not comparison.identical
    assert comparison.config_differs
    assert len(comparison.layers) == 1
    layer = comparison.layers[0]
    assert layer.index == 1
    assert layer.recorded == tampered["layers"][1]["digest"]
    assert layer.rebuilt == recorded["layers"][1]["digest"]
    assert layer.instruction == "[stage-1 2/2] COPY --from=build /out /srv"
    assert comparison.as_json()["layers"][0]["index"] == 1


def test_a_missing_layer_is_reported_as_absent() -> None:
    recorded = _json("recorded-manifest.json")
    shorter = {**recorded, "layers": recorded["layers"][:1]}
    comparison = compare_manifests(
        recorded_digest="sha256:" + "1" * 64,
        recorded_manifest=recorded,
        rebuilt_digest="sha256:" + "2" * 64,
        rebuilt_manifest=shorter,
    )
    assert not comparison.config_differs
    assert [(d.index, d.rebuilt, d.instruction) for d in comparison.layers] == [(1, "", "")]


def test_an_unreadable_manifest_is_a_format_error() -> None:
    with pytest.raises(ReportFormatError, match="recorded image manifest"):
        compare_manifests(
            recorded_digest="sha256:" + "1" * 64,
            recorded_manifest={"layers": []},
            rebuilt_digest="sha256:" + "2" * 64,
            rebuilt_manifest=_json("recorded-manifest.json"),
        )


def test_empty_layer_history_entries_are_skipped() -> None:
    config = {
        "history": [
            {"created_by": "ARG X", "empty_layer": True},
            {"created_by": "COPY a /a"},
        ]
    }
    assert layer_instructions(config) == ["COPY a /a"]
    assert layer_instructions({}) == []


REFERENCE = "127.0.0.1:5000/seamline/catalog@" + "sha256:" + "c" * 64
MIRROR = "127.0.0.1:5000/mirror/busybox:1"


def _facts(builder: str = "buildkit") -> BuildFacts:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    return BuildFacts(
        builder_id="https://seamline.dev/builders/local",
        source_repo="file:///srv/bookstore.git",
        source_commit="a" * 40,
        service="catalog",
        context="app/catalog",
        dockerfile="Dockerfile",
        build_args={"GO_BUILDER_IMAGE": "g:1"},
        base_images={MIRROR: "sha256:" + "b" * 64},
        flow_run_id="run-1",
        flow_run_url="http://127.0.0.1:4200/runs/flow-run/run-1",
        started=when,
        finished=when,
        substituted=(SubstitutedBase("example.org/busybox:1", "", MIRROR, "sha256:" + "b" * 64),),
        builder=builder,
        source_date_epoch=1767225600,
    )


def _signer(tmp_path: Path, predicate: dict[str, Any], reference: str = REFERENCE) -> FakeSigner:
    signer = FakeSigner()
    path = tmp_path / "provenance.json"
    path.write_text(json.dumps(predicate))
    signer.attest(reference, predicate=path, predicate_type=PROVENANCE_TYPE)
    return signer


def test_the_provenance_gives_every_rebuild_input(tmp_path: Path) -> None:
    inputs = verified_rebuild_inputs(_signer(tmp_path, slsa_provenance(_facts())), REFERENCE)
    assert inputs.source_repo == "file:///srv/bookstore.git"
    assert inputs.source_commit == "a" * 40
    assert (inputs.service, inputs.context, inputs.dockerfile) == (
        "catalog",
        "app/catalog",
        "Dockerfile",
    )
    assert inputs.build_args == {"GO_BUILDER_IMAGE": "g:1"}
    assert inputs.source_date_epoch == 1767225600
    assert inputs.substitutions == {"example.org/busybox:1": MIRROR}
    assert not inputs.names_final_stage  # recorded before releases named their last stage


def test_a_release_that_named_its_last_stage_is_rebuilt_with_the_name(tmp_path: Path) -> None:
    facts = dataclasses.replace(_facts(), final_stage="seamline-final")
    predicate = slsa_provenance(facts)
    assert predicate["buildDefinition"]["internalParameters"]["finalStage"] == "seamline-final"
    assert "finalStage" not in slsa_provenance(_facts())["buildDefinition"]["internalParameters"]
    inputs = verified_rebuild_inputs(_signer(tmp_path, predicate), REFERENCE)
    assert inputs.names_final_stage


def test_no_verified_provenance_on_the_digest_is_refused(tmp_path: Path) -> None:
    other = REFERENCE.replace("c" * 64, "d" * 64)
    signer = _signer(tmp_path, slsa_provenance(_facts()), reference=other)
    with pytest.raises(GateFailure, match="no SLSA provenance") as raised:
        verified_rebuild_inputs(signer, REFERENCE)
    assert raised.value.exit_code == 1


def test_a_docker_classic_build_is_refused_with_the_setting_that_fixes_it() -> None:
    with pytest.raises(GateFailure, match="not built by BuildKit") as raised:
        read_rebuild_inputs(slsa_provenance(_facts(builder="docker")))
    assert "SEAMLINE_IMAGE_BUILDER=buildkit" in raised.value.hint


def test_a_provenance_without_the_commit_time_is_refused() -> None:
    predicate = slsa_provenance(_facts())
    del predicate["buildDefinition"]["internalParameters"]["sourceDateEpoch"]
    with pytest.raises(GateFailure, match="sourceDateEpoch"):
        read_rebuild_inputs(predicate)


def test_a_tag_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        verified_rebuild_inputs(FakeSigner(), "127.0.0.1:5000/seamline/catalog:v1")


def test_the_command_refuses_a_tag_before_touching_the_stack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from deployments.cli import main

    assert main(["verify-rebuild", "127.0.0.1:5000/seamline/catalog:v1", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["exit_code"] == 2


def _layout(folder: Path, name: str) -> OciLayout:
    """An OCI layout folder holding the recorded ``name`` image's manifest and config."""
    manifest = (RECORDED / f"{name}-manifest.json").read_bytes()
    config = (RECORDED / f"{name}-config.json").read_bytes()
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    digest = _digest(name)
    (blobs / digest.removeprefix("sha256:")).write_bytes(manifest)
    config_digest = json.loads(manifest)["config"]["digest"]
    (blobs / config_digest.removeprefix("sha256:")).write_bytes(config)
    return OciLayout(folder)


def test_a_rebuild_in_a_layout_is_compared_with_the_registrys_manifest(tmp_path: Path) -> None:
    """The recorded files are re-indented JSON, so their bytes do not hash to the digest:
    the comparison trusts the digests it is given, as it does the registry's."""
    registry = _layout(tmp_path / "registry", "tampered")
    rebuilt = _layout(tmp_path / "rebuilt", "recorded")
    comparison = compare_sources(
        name="test/tiny",
        recorded=_digest("tampered"),
        recorded_from=registry,
        rebuilt=_digest("recorded"),
        rebuilt_from=rebuilt,
    )
    assert [(d.index, d.instruction) for d in comparison.layers] == [
        (1, "[stage-1 2/2] COPY --from=build /out /srv")
    ]
    with pytest.raises(ToolFailed, match="no manifest"):
        compare_sources(
            name="test/tiny",
            recorded="sha256:" + "9" * 64,
            recorded_from=registry,
            rebuilt=_digest("recorded"),
            rebuilt_from=rebuilt,
        )


def test_of_several_provenances_on_a_digest_the_rebuildable_one_is_read(tmp_path: Path) -> None:
    """A digest attested again (another run, a newer seamline) carries several provenances,
    oldest first: the newest usable one is read."""
    older = slsa_provenance(_facts())
    older["buildDefinition"]["externalParameters"]["source"]["repository"] = "file:///gone.git"
    signer = _signer(tmp_path, older)
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(slsa_provenance(_facts())))
    signer.attest(REFERENCE, predicate=newer, predicate_type=PROVENANCE_TYPE)
    assert verified_rebuild_inputs(signer, REFERENCE).source_repo == "file:///srv/bookstore.git"

    unusable = slsa_provenance(_facts())
    del unusable["buildDefinition"]["internalParameters"]["sourceDateEpoch"]
    newest = tmp_path / "newest.json"
    newest.write_text(json.dumps(unusable))
    signer.attest(REFERENCE, predicate=newest, predicate_type=PROVENANCE_TYPE)
    assert verified_rebuild_inputs(signer, REFERENCE).source_repo == "file:///srv/bookstore.git"

    (tmp_path / "only").mkdir()
    with pytest.raises(GateFailure, match="sourceDateEpoch"):  # no usable one: its reason
        verified_rebuild_inputs(_signer(tmp_path / "only", unusable), REFERENCE)
