"""Stage build-test: `go build`, `go vet`, golangci-lint and `go test` for one service."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger

from seamline.adapters.go_toolchain import LINT_FINDINGS
from seamline.errors import GateFailure, ToolFailed
from seamline.results import BuildTestResult
from seamline.runner import lower_priority
from tasks.cache_keys import source_key, stage_key
from tasks.context import RunContext
from tasks.retry_policy import transient_only
from tasks.side_by_side import side_by_side


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
    """The four checks run side by side; every failing one is reported, none retried."""
    logger = get_run_logger()
    spec = ctx.service(service)
    module = ctx.config.context_of(spec)
    go = ctx.tools.go()
    lint = ctx.config.pipeline.lint_config
    # The image build beside these leads to push, scan, SBOM and attestations; the checks
    # are needed only at signing, so they yield the cores to it.
    with lower_priority():
        built, vetted, linted, (test_run, counts) = side_by_side(
            lambda: go.build(module, ctx.settings.state_dir / "cache" / "bin" / service),
            lambda: go.vet(module),
            lambda: go.lint(module, ctx.config.root / lint if lint else None),
            lambda: go.test(module),
            name=f"build-test-{service}",
        )
    results = {"go build": built, "go vet": vetted, "golangci-lint": linted}
    lint_run = results["golangci-lint"]
    if lint_run.returncode not in (0, LINT_FINDINGS):
        raise ToolFailed(
            f"{service}: golangci-lint could not run (exit {lint_run.returncode})",
            stderr_tail=(lint_run.stdout + lint_run.stderr).strip()[-2000:],
        )
    failures = [
        f"{step} failed:\n{(result.stdout + result.stderr).strip()[-3000:]}"
        for step, result in results.items()
        if result.returncode != 0
    ]
    logger.info(
        "%s: go test: %d passed, %d failed, %d skipped",
        service,
        counts.passed,
        counts.failed,
        counts.skipped,
    )
    if test_run.returncode != 0:
        failing = ", ".join(counts.failures) or test_run.stderr.strip()[-2000:]
        failures.append(f"go test failed ({counts.failed} failing): {failing}")
    if failures:
        raise GateFailure(
            f"{service}: " + "\n".join(failures),
            hint=f"run the failing checks in {spec.context} and fix what they report",
        )
    logger.info("%s: go build, go vet, golangci-lint ok", service)
    return BuildTestResult(service, counts.passed, counts.failed, counts.skipped)
