"""Cache keys are pure: functions of a task's arguments and the run's resolved inputs."""

from __future__ import annotations

import builtins
import dataclasses
import socket
from pathlib import Path
from typing import Any

import pytest

from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.run.inputs import RunInputs
from seamline.run.results import BuiltImage, PushedImage, SbomResult, SignResult, Workspace
from tasks import cache_keys
from tasks.context import RunContext

INPUTS = RunInputs(
    tool_versions={"syft": "1.57.1", "trivy": "0.74.0"},
    sources={"catalog": "s1", "orders": "s2", "payments-worker": "s3", "storefront": "s4"},
    dockerfiles={"catalog": "d1", "orders": "d2", "payments-worker": "d3", "storefront": "d4"},
    checks={"catalog": "c1", "orders": "c2"},
    lint_baselines={"catalog": "a" * 40},
    build_args={"GO_BUILDER_IMAGE": "r/go:1", "RUNTIME_IMAGE": "r/static:1"},
    base_images={"r/go:1": "sha256:" + "1" * 64, "r/static:1": "sha256:" + "2" * 64},
    trivy_db="sha256:" + "3" * 64,
    gate="g",
    today="2026-11-28",
    trust="trusted",
    signer="key:pub",
    sandbox_image="sha256:" + "1" * 64,
)
BUILT = BuiltImage("catalog", "sha256:" + "4" * 64, "r/catalog:abc", {}, {}, "t0", "t1")
PUSHED = PushedImage("catalog", "r/catalog", "sha256:" + "5" * 64)


def _ctx(inputs: RunInputs = INPUTS) -> RunContext:
    # Settings that point at nothing: a key that reached for the registry or a tool fails.
    settings = Settings(registry_port=1, tools_dir=Path("/nonexistent"), state_dir=Path("/x"))
    return RunContext(
        settings=settings,
        workspace=Workspace("/nonexistent", "repo", "0" * 40),
        config=load_pipeline_config(PROJECT_ROOT / "examples" / "bookstore"),
        event="push",
        overlay="dev",
        inputs=inputs,
        flow_run_id="run",
        flow_run_url="http://x/run",
    )


def _all_keys(ctx: RunContext) -> list[str | None]:
    return [
        cache_keys.build_test(ctx, "catalog"),
        cache_keys.image(ctx, "catalog"),
        cache_keys.push(BUILT),
        cache_keys.scan(ctx, PUSHED),
        cache_keys.scan(ctx, BUILT),
        cache_keys.sbom(ctx, PUSHED),
        cache_keys.sign(ctx, PUSHED),
        cache_keys.attest_sbom(
            ctx, SignResult("catalog", PUSHED.ref, "sig"), SbomResult("c", "p", 3, "h")
        ),
    ]


def test_keys_read_no_file_and_open_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _ctx()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cache key did I/O")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(Path, "read_text", refuse)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    keys = _all_keys(ctx)
    assert keys == _all_keys(ctx)  # the same inputs, the same keys
    assert len(set(keys)) == len(keys)


def test_the_image_builder_moves_the_image_key_only() -> None:
    before = _all_keys(_ctx())
    ctx = _ctx()
    other = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"image_builder": "docker"})
    )
    after = _all_keys(other)
    assert {i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b} == {1}


@pytest.mark.parametrize(
    ("field", "value", "changed"),
    [
        ("trust", "untrusted", {0}),  # a pull request never shares a cached verdict
        ("trivy_db", "sha256:" + "9" * 64, {3, 4}),
        ("base_images", {}, {1}),
        ("signer", "key:other", {6, 7}),
        ("today", "2026-11-29", {3, 4}),
        ("sources", {**INPUTS.sources, "catalog": "s9"}, {0, 1}),
        ("dockerfiles", {**INPUTS.dockerfiles, "catalog": "d9"}, {1}),  # not the test verdict
        ("checks", {**INPUTS.checks, "catalog": "c9"}, {0}),
        ("checks", {**INPUTS.checks, "orders": "c9"}, set()),  # another service's
        ("lint_baselines", {"catalog": "b" * 40}, {0}),
        ("lint_baselines", {}, {0}),  # a first run: every finding counts
        ("sandbox_image", "r/go@sha256:" + "8" * 64, {0}),
        ("build_args", {"GO_BUILDER_IMAGE": "r/go:2", "RUNTIME_IMAGE": "r/static:1"}, {1}),
        ("gate", "g2", {3, 4}),
        ("tool_versions", {"syft": "1.57.1", "trivy": "0.75.0"}, {0, 3, 4}),
    ],
)
def test_each_input_moves_exactly_its_keys(field: str, value: Any, changed: set[int]) -> None:
    before = _all_keys(_ctx())
    after = _all_keys(_ctx(RunInputs(**{**INPUTS.__dict__, field: value})))
    assert {i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b} == changed
