"""`seamline rescan`: its JSON, exit code and stderr lines for a clean run, a run that
blocked a digest, and a run that ended in an environment problem (the outcome the flow
publishes on its run, and the command prints on either path)."""

from __future__ import annotations

from typing import Any

import pytest

from deployments.cli import _parser
from seamline.errors import EnvironmentProblem, GateFailure, ToolFailed
from tasks.cd_outcome import rescan_outcome
from tasks.rescan import DigestRescan, RescanResult

CATALOG = "127.0.0.1:5000/bookstore/catalog@sha256:" + "c" * 64
FINDING = "CVE-2022-32149 golang.org/x/text"


def rescan_payload(run_id: str, ended: object) -> tuple[int, dict[str, Any]]:
    outcome = rescan_outcome(flow_run_id=run_id, flow_run_url=f"http://ui/{run_id}", ended=ended)
    assert outcome.summary[-1] == f"flow run: http://ui/{run_id}"
    return outcome.exit_code, outcome.payload


def _digest(*, blocked: bool) -> DigestRescan:
    return DigestRescan(
        reference=CATALOG,
        overlays=("dev", "staging"),
        passed=not blocked,
        new=(FINDING,) if blocked else (),
        fixed=() if blocked else (FINDING,),
        unchanged=(),
        blocked=blocked,
    )


def test_a_clean_rescan_is_exit_0_with_every_digest() -> None:
    code, payload = rescan_payload("run-1", RescanResult((_digest(blocked=False),)))
    assert code == 0
    assert payload == {
        "flow_run_id": "run-1",
        "state": "Completed",
        "digests": [
            {
                "reference": CATALOG,
                "overlays": ["dev", "staging"],
                "gate": "passed",
                "new": [],
                "fixed": [FINDING],
                "unchanged": [],
                "blocked": False,
            }
        ],
        "errors": [],
    }


def test_a_blocked_digest_is_exit_1_and_still_listed() -> None:
    digests = [_digest(blocked=True).as_dict()]
    failure = GateFailure(
        "1 pinned digest(s) ... blocked", hint="rebuild", details={"digests": digests}
    )
    code, payload = rescan_payload("run-2", failure)
    assert code == 1 and payload["state"] == "Failed"
    assert payload["digests"] == digests and payload["digests"][0]["blocked"] is True
    assert payload["errors"] == [
        {"error": "1 pinned digest(s) ... blocked", "hint": "rebuild", "exit_code": 1}
    ]


def test_an_environment_problem_is_exit_3_with_no_digests() -> None:
    code, payload = rescan_payload("run-3", ToolFailed("trivy: registry away"))
    assert code == 3 and payload["digests"] == [] and payload["errors"][0]["exit_code"] == 3


def test_a_run_without_a_result_is_an_environment_problem() -> None:
    with pytest.raises(EnvironmentProblem, match="without a result"):
        rescan_payload("run-4", None)


def test_each_digest_is_one_line_on_stderr_and_the_error_is_logged_as_one() -> None:
    digests = [_digest(blocked=True).as_dict()]
    failure = GateFailure("1 blocked", hint="rebuild", details={"digests": digests})
    outcome = rescan_outcome(flow_run_id="r", flow_run_url="http://ui/r", ended=failure)
    assert outcome.summary == (
        f"{CATALOG} (dev, staging): gate failed, 1 new, 0 fixed, 0 unchanged, BLOCKED",
        f"error: {failure.diagnostics()}",
        "flow run: http://ui/r",
    )


def test_the_cli_knows_rescan_with_json_and_local() -> None:
    args = _parser().parse_args(["rescan", "--json"])
    assert args.command == "rescan" and args.json and not args.local
    assert _parser().parse_args(["rescan", "--local"]).local
