"""Stage build-test: `go build`, `go vet`, golangci-lint and `go test` for one service,
side by side in the sandbox (``seamline.adapters.go_sandbox``): the repository's code
never runs where it could reach a secret, the Docker socket or the Prefect API.

Which failing checks block is the service's policy (``seamline.policy.source_checks``).
With new lint findings only, the host computes (with git, running none of the
repository's code) the diff of the service's folder since the baseline commit, and the
sandbox runs golangci-lint once more restricted to the lines it adds.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.go_sandbox import LINT_NEW, SRC, GoSandbox
from seamline.adapters.go_toolchain import (
    LINT_FINDINGS,
    count_test_events,
    go_test_text,
    parse_lint_json,
)
from seamline.errors import GateFailure, ToolFailed
from seamline.policy.source_checks import LABELS, LintFinding, SourceCheck, judge, lint_check
from seamline.run.results import BuildTestResult
from seamline.tools.process import CompletedRun, last_lines
from tasks import cache_keys
from tasks.context import RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service

LOGGED_LINES = 200
_LOG_LABELS = {**LABELS, LINT_NEW: "golangci-lint (new findings)"}


def _log_output(ctx: RunContext, service: str, name: str, run: CompletedRun) -> None:
    """Each check's own output into the task's log in the Prefect UI (the last lines;
    the whole of it is in the evidence folder)."""
    text = go_test_text(run.stdout) + run.stderr if name == "test" else run.stdout + run.stderr
    lines = text.strip().splitlines()
    if not lines:
        return
    shown = "\n".join(lines[-LOGGED_LINES:])
    cut = f" (last {LOGGED_LINES} of {len(lines)} lines)" if len(lines) > LOGGED_LINES else ""
    get_run_logger().info("%s: %s output%s:\n%s", service, _LOG_LABELS[name], cut, shown)


def _lint_patch(ctx: RunContext, service: str, module: str, folder: Path) -> Path | None:
    """The diff of the service's folder since its lint baseline, written for the sandbox
    to read; None when there is no baseline or the checkout does not have it."""
    baseline = ctx.inputs.lint_baselines.get(service, "")
    if not baseline:
        return None
    history = ctx.tools.source_history(Path(ctx.workspace.path))
    diff = history.folder_diff(baseline, ctx.workspace.commit, module)
    if diff is None:
        get_run_logger().warning(
            "%s: the lint baseline %s is not in the repository's history: every lint "
            "finding counts as new",
            service,
            baseline[:12],
        )
        return None
    patch = folder / "lint-baseline.patch"
    patch.write_text(diff)
    return patch


def _findings(
    service: str, name: str, run: CompletedRun, sandbox: GoSandbox, out_dir: Path
) -> tuple[LintFinding, ...]:
    """The findings of golangci-lint run ``name`` (``lint`` or ``lint-new``), from its
    JSON report; its exit code must agree."""
    if run.returncode not in (0, LINT_FINDINGS):
        raise ToolFailed(
            f"{service}: golangci-lint could not run (exit {run.returncode}): "
            + last_lines(run.stderr or run.stdout),
            hint=f"its whole output is in {out_dir}",
        )
    found = parse_lint_json(sandbox.lint_report(out_dir, name), root=SRC)
    if run.returncode == LINT_FINDINGS and not found:
        raise ToolFailed(
            f"{service}: golangci-lint reported findings but its JSON report holds none: "
            + last_lines(run.stdout + run.stderr),
            hint=f"its whole output is in {out_dir}",
        )
    return found


def _checks(
    ctx: RunContext,
    service: str,
    results: dict[str, CompletedRun],
    sandbox: GoSandbox,
    out_dir: Path,
) -> list[SourceCheck]:
    """Each check's outcome, with what a person needs to read from it."""
    policy = ctx.config.checks_policy(ctx.service(service))
    lint = lint_check(
        findings=_findings(service, "lint", results["lint"], sandbox, out_dir),
        new_findings=(
            _findings(service, LINT_NEW, results[LINT_NEW], sandbox, out_dir)
            if LINT_NEW in results
            else None
        ),
        baseline=ctx.inputs.lint_baselines.get(service, ""),
        new_only=policy.lint_new_only,
    )
    test_run = results["test"]
    counts = count_test_events(test_run.stdout)
    test_why = counts.explain() or last_lines(go_test_text(test_run.stdout) + test_run.stderr)
    return [
        *(
            SourceCheck(
                name=name,
                failed=results[name].returncode != 0,
                detail=last_lines(results[name].stdout + results[name].stderr, lines=5),
            )
            for name in ("build", "vet")
        ),
        lint,
        SourceCheck(name="test", failed=test_run.returncode != 0, detail=test_why),
    ]


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
    root = ctx.config.root
    module = ctx.config.context_of(spec).relative_to(root).as_posix()
    tools.go().download_modules(ctx.config.context_of(spec), tools.module_cache)
    evidence = ctx.evidence_dir(service)
    out_dir = evidence / "checks"
    patch = (
        _lint_patch(ctx, service, module, evidence)
        if ctx.config.checks_policy(spec).lint_new_only
        else None
    )
    lint = ctx.config.lint_config_path(spec)
    sandbox = tools.go_sandbox(
        repository=ctx.workspace.repo, trust=ctx.inputs.trust, image=ctx.inputs.sandbox_image
    )
    try:
        results = sandbox.run_checks(
            repository=root,
            module=module,
            lint_config=lint.relative_to(root).as_posix() if lint else None,
            out_dir=out_dir,
            lint_patch=patch,
        )
        for name, run in results.items():
            _log_output(ctx, service, name, run)
        checks = _checks(ctx, service, results, sandbox, out_dir)
    finally:
        sandbox.close()
    counts = count_test_events(results["test"].stdout)
    logger.info(
        "%s: go test: %d passed, %d failed, %d skipped",
        service,
        counts.passed,
        counts.failed,
        counts.skipped,
    )
    verdict = judge(ctx.config.checks_policy(spec), checks)
    for note in verdict.reported:
        logger.warning("%s: %s", service, note)
    if not verdict.passed:
        raise GateFailure(
            f"{service}: " + "\n".join(verdict.blocking + verdict.reported),
            hint=f"run the failing checks in {spec.context} and fix what they report; "
            f"their whole output is in {out_dir}",
        )
    logger.info("%s: the blocking checks passed", service)
    return BuildTestResult(
        service, counts.passed, counts.failed, counts.skipped, reported=verdict.reported
    )
