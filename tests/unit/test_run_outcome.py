"""The outcome a run leaves on its flow run reads back as it was written."""

from __future__ import annotations

from seamline.errors import GateFailure, ToolMissing, UsageError
from seamline.orchestration.outcome import OUTCOME_KEY, RunOutcome


def test_an_outcome_survives_its_artifact() -> None:
    outcome = RunOutcome(
        payload={"state": "COMPLETED", "services": [{"name": "orders", "digest": "sha256:ab"}]},
        exit_code=0,
        summary=("  orders gate passed", "commit: none"),
    )
    read = RunOutcome.from_artifact({"key": OUTCOME_KEY, "data": outcome.to_markdown()})
    assert read == outcome


def test_an_error_outcome_keeps_its_exit_code_and_hint() -> None:
    for error, code in (
        (UsageError("bad ref", hint="fix it"), 2),
        (ToolMissing("no trivy"), 3),
        (GateFailure("CVE"), 1),
    ):
        outcome = RunOutcome.for_error(error)
        assert outcome.exit_code == code
        assert outcome.payload == {"error": error.message, "hint": error.hint, "exit_code": code}
        assert RunOutcome.from_artifact({"data": outcome.to_markdown()}) == outcome


def test_an_artifact_without_an_outcome_reads_as_none() -> None:
    assert RunOutcome.from_artifact({"data": "### a table"}) is None
    assert RunOutcome.from_artifact({"data": "```json\n{not json\n```"}) is None
    assert RunOutcome.from_artifact({"data": None}) is None
