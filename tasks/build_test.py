"""Stage build-test: `go build`, `go vet`, golangci-lint and `go test` for one service,
side by side in the sandbox (``seamline.adapters.go_sandbox``): the repository's code
never runs where it could reach a secret, the Docker socket or the Prefect API."""

from __future__ import annotations

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.go_toolchain import (
    LINT_FINDINGS,
    count_test_events,
    go_test_text,
    summarize_lint,
)
from seamline.errors import GateFailure, ToolFailed
from seamline.run.results import BuildTestResult
from seamline.tools.process import CompletedRun, last_lines
from tasks import cache_keys
from tasks.context import RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service

LABELS = {"build": "go build", "vet": "go vet", "lint": "golangci-lint", "test": "go test"}
LOGGED_LINES = 200


def _log_output(ctx: RunContext, service: str, name: str, run: CompletedRun) -> None:
    """Each check's own output into the task's log in the Prefect UI (the last lines;
    the whole of it is in the evidence folder)."""
    text = go_test_text(run.stdout) + run.stderr if name == "test" else run.stdout + run.stderr
    lines = text.strip().splitlines()
    if not lines:
        return
    shown = "\n".join(lines[-LOGGED_LINES:])
    cut = f" (last {LOGGED_LINES} of {len(lines)} lines)" if len(lines) > LOGGED_LINES else ""
    get_run_logger().info("%s: %s output%s:\n%s", service, LABELS[name], cut, shown)


def _why(name: str, run: CompletedRun) -> str:
    said = summarize_lint(run.stdout) if name == "lint" else ""
    return said or last_lines(run.stdout + run.stderr, lines=5)


@task(
    name="build-test",
    task_run_name=per_service("build-test"),
    cache_policy=cache_keys.policy(lambda p: cache_keys.build_test(p["ctx"], p["service"])),
    persist_result=True,
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def build_test(ctx: RunContext, service: str) -> BuildTestResult:
    """Every failing check is reported, none retried."""
    logger = get_run_logger()
    spec = ctx.service(service)
    tools = ctx.tools
    tools.go().download_modules(ctx.config.context_of(spec), tools.module_cache)
    sandbox = tools.go_sandbox(
        repository=ctx.workspace.repo, trust=ctx.inputs.trust, image=ctx.inputs.sandbox_image
    )
    lint = ctx.config.lint_config_path()
    root = ctx.config.root
    out_dir = ctx.evidence_dir(service) / "checks"
    try:
        results = sandbox.run_checks(
            repository=root,
            module=ctx.config.context_of(spec).relative_to(root).as_posix(),
            lint_config=lint.relative_to(root).as_posix() if lint else None,
            out_dir=out_dir,
        )
    finally:
        sandbox.close()
    for name, run in results.items():
        _log_output(ctx, service, name, run)
    lint_run = results["lint"]
    if lint_run.returncode not in (0, LINT_FINDINGS):
        raise ToolFailed(
            f"{service}: golangci-lint could not run (exit {lint_run.returncode}): "
            + last_lines(lint_run.stderr or lint_run.stdout),
            hint=f"its whole output is in {out_dir}",
        )
    counts = count_test_events(results["test"].stdout)
    failures = [
        f"{LABELS[name]} failed: {_why(name, run)}"
        for name, run in results.items()
        if run.returncode != 0 and name != "test"
    ]
    logger.info(
        "%s: go test: %d passed, %d failed, %d skipped",
        service,
        counts.passed,
        counts.failed,
        counts.skipped,
    )
    test_run = results["test"]
    if test_run.returncode != 0:
        failures.append(
            "go test failed: "
            + (counts.explain() or last_lines(go_test_text(test_run.stdout) + test_run.stderr))
        )
    if failures:
        raise GateFailure(
            f"{service}: " + "\n".join(failures),
            hint=f"run the failing checks in {spec.context} and fix what they report; "
            f"their whole output is in {out_dir}",
        )
    logger.info("%s: go build, go vet, golangci-lint ok", service)
    return BuildTestResult(service, counts.passed, counts.failed, counts.skipped)
