"""A run that releases nothing pushes nothing: where each builder's image goes, what the
scan reads, what the push refuses, and which results later runs may reuse."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from seamline.adapters.trivy import image_source
from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.errors import UsageError
from seamline.policy.image_output import cached_across_runs, image_output
from seamline.run.inputs import RunInputs
from seamline.run.results import BuiltImage, Workspace
from tasks import cache_keys, image, push, scan
from tasks.context import RunContext
from tests.unit.fakes import FakeBuilder, FakeRegistry, RecordedScanner

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
LOG = logging.getLogger("tests.release_output")
COMMIT = "c" * 40
DIGEST = "sha256:" + "5" * 64
INPUTS = RunInputs(
    tool_versions={"trivy": "0.70.0"},
    sources={"catalog": "s" * 64},
    dockerfiles={"catalog": "d" * 64},
    checks={},
    build_args={"GO_BUILDER_IMAGE": "r/go:1", "RUNTIME_IMAGE": "r/static:1"},
    base_images={},
    trivy_db="sha256:" + "3" * 64,
    gate="g",
    today="2026-03-01",
    trust="untrusted",
)


def _ctx(
    tmp_path: Path, *, releases: bool, builder: str = "buildkit", run: str = "run-1"
) -> RunContext:
    return RunContext(
        settings=Settings(
            state_dir=tmp_path / "state",
            tools_dir=Path("/nonexistent"),
            image_builder=builder,  # type: ignore[arg-type]
        ),
        workspace=Workspace(str(BOOKSTORE), "file:///src.git", COMMIT, "feature", 1767225600),
        config=load_pipeline_config(BOOKSTORE),
        event="push" if releases else "pull_request",
        overlay="dev" if releases else None,
        inputs=INPUTS,
        flow_run_id=run,
        flow_run_url=f"http://prefect/runs/{run}",
    )


@pytest.mark.parametrize(
    ("pushes", "releases", "output"),
    [
        (True, True, "registry"),
        (True, False, "layout"),
        (False, True, "engine"),
        (False, False, "engine"),
    ],
)
def test_where_the_image_goes(pushes: bool, releases: bool, output: str) -> None:
    assert image_output(builder_pushes=pushes, releases=releases) == output
    assert cached_across_runs(image_output(builder_pushes=pushes, releases=releases)) == (
        output != "layout"
    )


def test_a_buildkit_pull_request_builds_into_the_runs_layout_and_pushes_nothing(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path, releases=False)
    builder = FakeBuilder(pushes=True, digest=DIGEST)
    built = image.build(ctx, "catalog", builder=builder, log=LOG)
    layout = tmp_path / "state" / "layouts" / "run-1" / "catalog"
    assert builder.builds[0]["layout"] == layout
    assert builder.pushed == []
    assert built.layout == str(layout) and built.image_id == DIGEST
    assert built.registry_digest == "" and built.registry_ref == ""


def test_a_buildkit_release_pushes_as_it_builds(tmp_path: Path) -> None:
    builder = FakeBuilder(pushes=True, digest=DIGEST)
    built = image.build(_ctx(tmp_path, releases=True), "catalog", builder=builder, log=LOG)
    assert builder.builds[0]["layout"] is None and len(builder.pushed) == 1
    assert built.registry_digest == DIGEST and built.layout == ""


def test_a_buildkit_release_builds_its_last_stage_without_the_cache(tmp_path: Path) -> None:
    release = FakeBuilder(pushes=True, digest=DIGEST, buildkit_frontend=True)
    released = image.build(_ctx(tmp_path, releases=True), "catalog", builder=release, log=LOG)
    pull_request = FakeBuilder(pushes=True, digest=DIGEST, buildkit_frontend=True)
    ctx = _ctx(tmp_path, releases=False)
    assert image.build(ctx, "catalog", builder=pull_request, log=LOG).final_stage == ""
    assert released.final_stage == "seamline-final"  # the provenance records it
    built, unnamed = release.builds[0], pull_request.builds[0]
    assert built["fresh_stage"] == "seamline-final"
    assert "FROM ${RUNTIME_IMAGE} AS seamline-final\n" in built["text"]
    assert unnamed["fresh_stage"] == ""
    assert "seamline-final" not in Path(unnamed["dockerfile"]).read_text()


def test_a_docker_pull_request_stays_in_the_engine(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, releases=False, builder="docker")
    builder = FakeBuilder()
    built = image.build(ctx, "catalog", builder=builder, log=LOG)
    assert builder.builds[0]["layout"] is None and builder.pushed == []
    assert built.layout == "" and built.registry_digest == ""
    scanner = RecordedScanner("clean.cosign-vuln.json")
    scan.scan(ctx, "catalog", built, scanner=scanner)
    assert scanner.scanned == [(built.local_ref, True)] and scanner.layouts == [None]


def test_the_scan_reads_the_layout_and_names_the_digest(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, releases=False)
    built = image.build(ctx, "catalog", builder=FakeBuilder(pushes=True, digest=DIGEST), log=LOG)
    scanner = RecordedScanner("clean.cosign-vuln.json")
    result = scan.scan(ctx, "catalog", built, scanner=scanner)
    assert scanner.layouts == [Path(built.layout)]
    assert scanner.scanned == [("127.0.0.1:5000/bookstore/catalog@" + DIGEST, False)]
    assert result.passed and result.scanned_ref.endswith(DIGEST)


def test_a_layout_image_fails_the_gate_like_any_other(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, releases=False)
    built = image.build(ctx, "catalog", builder=FakeBuilder(pushes=True, digest=DIGEST), log=LOG)
    result = scan.scan(
        ctx, "catalog", built, scanner=RecordedScanner("vulnerable-x-text.cosign-vuln.json")
    )
    assert not result.passed


@pytest.mark.parametrize("builder", ["docker", "buildkit"])
def test_a_run_that_releases_nothing_refuses_to_push(tmp_path: Path, builder: str) -> None:
    ctx = _ctx(tmp_path, releases=False, builder=builder)
    fake = FakeBuilder(pushes=builder == "buildkit", digest=DIGEST)
    built = image.build(ctx, "catalog", builder=fake, log=LOG)
    with pytest.raises(UsageError, match="releases nothing pushes nothing"):
        push.push(ctx, built, builder=fake, registry=FakeRegistry({}), log=LOG)
    assert fake.pushed == []


def test_a_layout_is_never_pushed_even_by_a_releasing_context(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, releases=False)
    built = image.build(ctx, "catalog", builder=FakeBuilder(pushes=True, digest=DIGEST), log=LOG)
    fake = FakeBuilder(pushes=True)
    with pytest.raises(UsageError):
        push.push(
            _ctx(tmp_path, releases=True), built, builder=fake, registry=FakeRegistry({}), log=LOG
        )
    assert fake.pushed == []


def test_remove_layouts_removes_the_runs_folder_only(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, releases=False)
    other = _ctx(tmp_path, releases=False, run="run-2")
    for c in (ctx, other):
        image.build(c, "catalog", builder=FakeBuilder(pushes=True), log=LOG)
    image.remove_layouts(ctx)
    assert not ctx.layouts_dir.exists() and other.layout_dir("catalog").is_dir()
    image.remove_layouts(ctx)  # already gone: nothing to do


def test_layout_builds_and_scans_are_not_cached(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, releases=False)
    assert cache_keys.image(ctx, "catalog") is None
    built = image.build(ctx, "catalog", builder=FakeBuilder(pushes=True, digest=DIGEST), log=LOG)
    assert cache_keys.scan(ctx, built) is None


@pytest.mark.parametrize("builder", ["docker", "buildkit"])
def test_a_release_never_reuses_a_non_release_result(tmp_path: Path, builder: str) -> None:
    release = _ctx(tmp_path, releases=True, builder=builder)
    pull = _ctx(tmp_path, releases=False, builder=builder)
    released = cache_keys.image(release, "catalog")
    assert released is not None and released != cache_keys.image(pull, "catalog")
    built = BuiltImage("catalog", DIGEST, "127.0.0.1:5000/bookstore/catalog:x", {}, {}, "", "")
    assert cache_keys.scan(release, built) != cache_keys.scan(pull, built)


def test_docker_pull_requests_of_one_source_share_their_build(tmp_path: Path) -> None:
    first = _ctx(tmp_path, releases=False, builder="docker")
    second = dataclasses.replace(first, flow_run_id="run-2")
    assert cache_keys.image(first, "catalog") == cache_keys.image(second, "catalog")
    assert cache_keys.image(first, "catalog") is not None


def test_trivy_reads_a_layout_with_input() -> None:
    layout = Path("/state/layouts/run-1/catalog")
    assert image_source("r/catalog@sha256:5", local=False, layout=layout) == [
        "--input",
        str(layout),
    ]
    assert image_source("r/catalog:x", local=True, layout=None) == [
        "--image-src",
        "docker",
        "r/catalog:x",
    ]
    assert image_source("r/catalog@sha256:5", local=False, layout=None)[:2] == [
        "--image-src",
        "remote",
    ]
