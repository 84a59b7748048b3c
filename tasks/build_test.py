"""Stage build-test: `go build`, `go vet`, golangci-lint and `go test` for one service."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger

from seamline.adapters.go_toolchain import LINT_FINDINGS
from seamline.errors import GateFailure, ToolFailed
from seamline.results import BuildTestResult
from tasks.cache_keys import source_key, stage_key
from tasks.context import RunContext
from tasks.retry_policy import transient_only


def _key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    return stage_key("build-test", source_key(parameters["ctx"], parameters["service"]))


@task(
    name="build-test",
    cache_key_fn=_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def build_test(ctx: RunContext, service: str) -> BuildTestResult:
    logger = get_run_logger()
    spec = ctx.service(service)
    module = ctx.config.context_of(spec)
    go = ctx.tools.go()
    lint = ctx.config.pipeline.lint_config
    for step, result in (
        ("go build", go.build(module, ctx.settings.state_dir / "cache" / "bin" / service)),
        ("go vet", go.vet(module)),
        ("golangci-lint", go.lint(module, ctx.config.root / lint if lint else None)),
    ):
        if step == "golangci-lint" and result.returncode not in (0, LINT_FINDINGS):
            raise ToolFailed(
                f"{service}: golangci-lint could not run (exit {result.returncode})",
                stderr_tail=(result.stdout + result.stderr).strip()[-2000:],
            )
        if result.returncode != 0:
            raise GateFailure(
                f"{service}: {step} failed:\n{(result.stdout + result.stderr).strip()[-3000:]}",
                hint=f"run `{step}` in {spec.context} and fix what it reports",
            )
        logger.info("%s: %s ok (%.1f s)", service, step, result.seconds)
    result, counts = go.test(module)
    logger.info(
        "%s: go test: %d passed, %d failed, %d skipped",
        service,
        counts.passed,
        counts.failed,
        counts.skipped,
    )
    if result.returncode != 0:
        failing = ", ".join(counts.failures) or result.stderr.strip()[-2000:]
        raise GateFailure(
            f"{service}: go test failed ({counts.failed} failing): {failing}",
            hint=f"run `go test ./...` in {spec.context}",
        )
    return BuildTestResult(service, counts.passed, counts.failed, counts.skipped)
