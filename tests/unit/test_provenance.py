from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from seamline.run.provenance import BUILD_TYPE, BUILDKIT_BUILD_TYPE, BuildFacts, slsa_provenance

FACTS = BuildFacts(
    builder_id="https://seamline.dev/builders/local",
    source_repo="file:///srv/bookstore.git",
    source_commit="a" * 40,
    service="catalog",
    context="app/catalog",
    dockerfile="Dockerfile",
    build_args={"RUNTIME_IMAGE": "r:1", "GO_BUILDER_IMAGE": "g:1"},
    base_images={"127.0.0.1:5000/seamline/static:nonroot": "sha256:" + "b" * 64},
    flow_run_id="run-1",
    flow_run_url="http://127.0.0.1:4200/runs/flow-run/run-1",
    started=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    finished=datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC),
)


def test_predicate_states_the_build() -> None:
    predicate = slsa_provenance(FACTS)
    definition = predicate["buildDefinition"]
    assert definition["buildType"] == BUILD_TYPE
    assert definition["externalParameters"]["source"]["revision"] == "a" * 40
    assert list(definition["externalParameters"]["buildArgs"]) == [
        "GO_BUILDER_IMAGE",
        "RUNTIME_IMAGE",
    ]
    assert definition["internalParameters"]["flowRunId"] == "run-1"
    assert definition["internalParameters"]["builder"] == "docker"
    assert definition["internalParameters"]["sourceDateEpoch"] == 0
    deps = definition["resolvedDependencies"]
    assert deps[0] == {"uri": "git+file:///srv/bookstore.git", "digest": {"gitCommit": "a" * 40}}
    assert deps[1]["digest"] == {"sha256": "b" * 64}
    details = predicate["runDetails"]
    assert details["builder"]["id"] == "https://seamline.dev/builders/local"
    assert details["metadata"]["invocationId"].endswith("/run-1")
    assert details["metadata"]["startedOn"] == "2026-01-02T03:04:05+00:00"


def test_a_buildkit_build_states_its_builder_and_the_commit_time() -> None:
    facts = replace(FACTS, builder="buildkit", source_date_epoch=1767225600)
    definition = slsa_provenance(facts)["buildDefinition"]
    assert definition["buildType"] == BUILDKIT_BUILD_TYPE
    assert definition["internalParameters"]["builder"] == "buildkit"
    assert definition["internalParameters"]["sourceDateEpoch"] == 1767225600
