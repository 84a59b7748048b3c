"""Reads the states of a run's task futures into the run's report and final state.

Only the Prefect side lives here: waiting on futures and reading their states into plain
``StageOutcome``s. What the outcomes mean is decided in ``seamline/run/report.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed

from seamline.policy.bump_precondition import ServiceOutcome
from seamline.run.report import RunReport, ServiceStages, StageOutcome, build_report
from tasks.context import RunContext


def inspect(future: PrefectFuture[Any]) -> StageOutcome:
    future.wait()
    state = future.state
    name = state.name or state.type.value
    if state.is_completed():
        return StageOutcome(name, state.result(), None)
    if state.is_failed() or state.is_crashed():
        error = state.result(raise_on_failure=False)
        if not isinstance(error, BaseException):
            error = RuntimeError(state.message or state.name)
        return StageOutcome(name, None, error)
    return StageOutcome(name, None, None)


class RunReporter:
    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx

    def _lines(self, stages: dict[str, list[PrefectFuture[Any]]]) -> list[ServiceStages]:
        config = self._ctx.config
        return [
            ServiceStages(
                name=spec.name,
                image=config.target_repository(spec),
                stages={stage: inspect(futures[i]) for stage, futures in stages.items()},
            )
            for i, spec in enumerate(config.services)
        ]

    def outcomes(self, stages: dict[str, list[PrefectFuture[Any]]]) -> list[ServiceOutcome]:
        return [
            ServiceOutcome(
                service=line.name,
                image=self._ctx.service(line.name).image,
                repository=line.image,
                digest=line.signed_digest,
                error=line.first_error,
            )
            for line in self._lines(stages)
        ]

    def finish(
        self,
        stages: dict[str, list[PrefectFuture[Any]]],
        *,
        bump: PrefectFuture[Any] | None,
        publish: Callable[[RunReport], None],
    ) -> State[Any]:
        ctx = self._ctx
        report = build_report(
            flow_run_id=ctx.flow_run_id,
            flow_run_url=ctx.flow_run_url,
            event=ctx.event,
            source=ctx.workspace.repo,
            source_commit=ctx.workspace.commit,
            overlay=ctx.overlay,
            lines=self._lines(stages),
            bump=inspect(bump) if bump is not None else None,
        )
        publish(report)
        if report.failed:
            message = f"{len(report.errors)} error(s): {report.errors[0].message}"
            return Failed(message=message, data=report)
        return Completed(data=report)
