"""Stage build-test: `go build`, `go vet`, golangci-lint and `go test` for one service."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from prefect import task
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger

from seamline.adapters.go_toolchain import LINT_FINDINGS
from seamline.errors import GateFailure, ToolFailed
from seamline.results import BuildTestResult
from tasks.cache_keys import source_key, stage_key
from tasks.context import RunContext
from tasks.retry_policy import transient_only

T = TypeVar("T")


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
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"build-test-{service}") as pool:

        def submit(fn: Callable[..., T], *args: Any) -> Future[T]:
            # each thread gets its own copy of this task's context (its run logger, timings)
            return pool.submit(contextvars.copy_context().run, fn, *args)

        checks = {
            "go build": submit(
                go.build, module, ctx.settings.state_dir / "cache" / "bin" / service
            ),
            "go vet": submit(go.vet, module),
            "golangci-lint": submit(go.lint, module, ctx.config.root / lint if lint else None),
        }
        tested = submit(go.test, module)
        results = {step: future.result() for step, future in checks.items()}
        test_run, counts = tested.result()
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
