"""What `seamline promote` and `seamline rescan` print for a run (the ``--json`` document,
the exit code and the lines on stderr), built from the way the flow ended: its result, or
the error it raised.

The flows publish it on their run, as the CI flow publishes its own (``tasks.evidence``),
and the command that ran the flow in-process builds it with the same function from the
flow's result, so a run on an executor and one in-process print the same document.
"""

from __future__ import annotations

from typing import Any

from prefect import task

from seamline.errors import EnvironmentProblem, GateFailure, SeamlineError
from seamline.orchestration.outcome import RunOutcome
from tasks.evidence import publish_outcome
from tasks.promote import PromotionResult
from tasks.rescan import RescanResult

COMPLETED, FAILED = "Completed", "Failed"  # the state a flow that returns (or raises) ends in


def _error_entry(error: SeamlineError) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "error": error.message,
        "hint": error.hint,
        "exit_code": error.exit_code,
    }
    if isinstance(error, GateFailure) and error.details:
        entry["details"] = error.details
    return entry


def pull_request_entry(result: PromotionResult) -> dict[str, Any] | None:
    """The pull request a ``--pr`` promotion opened, or would open with no forge."""
    draft = result.pull_request
    if draft is None:
        return None
    opened = result.opened
    return {
        "title": draft.title,
        "head": draft.head,
        "base": draft.base,
        "body": draft.body,
        "opened": opened is not None,
        "existed": opened.existed if opened else False,
        "number": opened.number if opened else None,
        "url": opened.url if opened else None,
    }


def _pull_request_lines(result: PromotionResult) -> list[str]:
    draft, opened = result.pull_request, result.opened
    if draft is None:
        return []
    if opened is None:
        return [
            f"no forge configured (SEAMLINE_FORGE_REPOSITORY): branch {draft.head} is pushed; "
            f"the pull request seamline would open:\n  title: {draft.title}\n"
            f"  head:  {draft.head}\n  base:  {draft.base}\n\n{draft.body}"
        ]
    if opened.existed:
        return [f"pull request #{opened.number} was already open: {opened.url}"]
    return [f"opened pull request #{opened.number}: {opened.url}"]


def promotion_outcome(
    *, source: str, target: str, flow_run_id: str, flow_run_url: str, ended: object
) -> RunOutcome:
    """A promotion run's outcome from ``ended``: its ``PromotionResult`` or its error."""
    payload: dict[str, Any] = {
        "flow_run_id": flow_run_id,
        "state": COMPLETED,
        "source": source,
        "target": target,
        "commit": None,
        "branch": None,
        "pull_request": None,
        "images": [],
        "errors": [],
    }
    if isinstance(ended, PromotionResult):
        payload["commit"] = ended.commit
        payload["branch"] = ended.branch
        payload["pull_request"] = pull_request_entry(ended)
        payload["images"] = [
            {
                "name": i.image,
                "reference": i.reference,
                "digest": i.digest,
                "checks": list(i.checks),
            }
            for i in ended.images
        ]
        if ended.commit:
            moved = ", ".join(i.image for i in ended.images)
            lines = [f"committed {ended.commit} to {ended.branch}: {moved}"]
            lines += _pull_request_lines(ended)
        else:
            lines = [f"{target} already pins these digests: no commit"]
        code = 0
    elif isinstance(ended, SeamlineError):
        payload["state"] = FAILED
        payload["errors"] = [_error_entry(ended)]
        lines = [f"error: {ended.diagnostics()}"]
        code = ended.exit_code
    else:
        raise EnvironmentProblem(f"the promotion ended without a result: {ended!r}")
    summary = (*lines, f"flow run: {flow_run_url}")
    return RunOutcome(payload=payload, exit_code=code, summary=summary)


def _digest_line(digest: dict[str, Any]) -> str:
    return (
        f"{digest['reference']} ({', '.join(digest['overlays'])}): gate {digest['gate']}, "
        f"{len(digest['new'])} new, {len(digest['fixed'])} fixed, "
        f"{len(digest['unchanged'])} unchanged{', BLOCKED' if digest['blocked'] else ''}"
    )


def rescan_outcome(*, flow_run_id: str, flow_run_url: str, ended: object) -> RunOutcome:
    """A re-scan run's outcome from ``ended``: its ``RescanResult`` or its error. A blocked
    digest is exit 1, and the digests are listed either way."""
    payload: dict[str, Any] = {
        "flow_run_id": flow_run_id,
        "state": COMPLETED,
        "digests": [],
        "errors": [],
    }
    errors: list[str] = []
    if isinstance(ended, RescanResult):
        payload["digests"] = [d.as_dict() for d in ended.digests]
        code = 1 if ended.blocked else 0
    elif isinstance(ended, SeamlineError):
        digests = ended.details.get("digests") if isinstance(ended, GateFailure) else None
        if isinstance(digests, list):
            payload["digests"] = digests
        payload["state"] = FAILED
        payload["errors"] = [
            {"error": ended.message, "hint": ended.hint, "exit_code": ended.exit_code}
        ]
        errors = [f"error: {ended.diagnostics()}"]
        code = ended.exit_code
    else:
        raise EnvironmentProblem(f"the re-scan ended without a result: {ended!r}")
    summary = (*map(_digest_line, payload["digests"]), *errors, f"flow run: {flow_run_url}")
    return RunOutcome(payload=payload, exit_code=code, summary=summary)


@task(name="outcome", task_run_name="outcome")
def publish_cd_outcome(outcome: RunOutcome) -> None:
    """What the command prints for this run, read back by a command on another process."""
    publish_outcome(outcome)
