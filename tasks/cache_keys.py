"""Cache keys made of content, so a new process reuses what did not change."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from seamline.content_hash import tree_hash, value_hash
from seamline.results import RESULTS_VERSION
from seamline.toolchain import read_pins
from tasks.context import RunContext


@cache
def _tree(path: str) -> str:
    return tree_hash(Path(path))


def tool_versions(ctx: RunContext) -> dict[str, str]:
    return {pin.name: pin.version for pin in read_pins(ctx.settings.toolchain_file)}


def source_key(ctx: RunContext, service: str) -> str:
    """The service's source tree, its Dockerfile and the lint config."""
    spec = ctx.service(service)
    lint = ctx.config.pipeline.lint_config
    lint_text = (ctx.config.root / lint).read_text() if lint else ""
    return value_hash(
        _tree(str(ctx.config.context_of(spec))),
        ctx.config.dockerfile_of(spec).read_text(),
        lint_text,
        tool_versions(ctx),
    )


def stage_key(stage: str, *parts: object) -> str:
    return f"seamline-{stage}-{value_hash(RESULTS_VERSION, *parts)}"
