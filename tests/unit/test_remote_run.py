"""What `seamline run`, `promote` and `rescan` do with a run on an executor: the parameters
they send, the log records they print and stop at, the outcome they print (the same document
as in-process), and when they run the flow in their own process instead."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments import promote_command, remote_run, rescan_command
from deployments.remote_run import LogPrinter, carries_credential
from deployments.run_command import run_parameters
from seamline.config.settings import Settings
from seamline.errors import GateFailure, UsageError
from seamline.orchestration.executors import (
    ExecutorIdentity,
    code_fingerprint,
    settings_fingerprint,
)
from seamline.orchestration.outcome import OUTCOME_KEY, RunOutcome, mask_secrets
from tasks.cd_outcome import promotion_outcome, rescan_outcome
from tasks.promote import PromotedImage, PromotionResult
from tasks.rescan import DigestRescan, RescanResult

CATALOG = "127.0.0.1:5000/bookstore/catalog@sha256:" + "c" * 64
RUN_ID = "9b0c6a52-0000-4000-8000-000000000001"
DEPLOYMENTS = {"seamline-promote/promote": "dep-promote", "seamline-rescan/nightly": "dep-rescan"}


class RecordedLogs:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def logs(self, run_id: str, offset: int, limit: int = 200) -> list[dict[str, Any]]:
        return self.records[offset : offset + limit]


def _record(message: str, task_run_id: str | None = None) -> dict[str, Any]:
    return {
        "timestamp": "2026-11-29T07:10:09.417501+00:00",
        "level": 20,
        "message": message,
        "task_run_id": task_run_id,
    }


def test_records_print_once_in_order_and_the_flows_closing_record_ends_the_tail() -> None:
    printed: list[str] = []
    printer = LogPrinter(printed.append)
    rest = RecordedLogs([_record("Beginning flow run"), _record("Finished in state X()", "t1")])
    printer.drain(rest, "run")  # type: ignore[arg-type]
    assert not printer.closed  # a task's closing record is not the flow's
    rest.records += [_record("orders: pushed"), _record("Finished in state Completed()")]
    printer.drain(rest, "run")  # type: ignore[arg-type]
    printer.drain(rest, "run")  # type: ignore[arg-type]
    assert printer.closed
    assert [line.split("INFO", 1)[1].strip() for line in printed] == [
        "Beginning flow run",
        "orders: pushed",
    ]


def test_the_run_names_its_gitops_remote_and_why_it_ran(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, gitops_remote="/srv/gitops.git")
    args = argparse.Namespace(ref="main", event="push", overlay="", branch="", force=False)
    parameters = run_parameters(settings, "/srv/app.git", args)
    assert parameters["gitops"] == "/srv/gitops.git" and parameters["repo"] == "/srv/app.git"
    assert parameters["reason"].startswith("`seamline run` by ")
    assert set(parameters) == {
        "repo",
        "ref",
        "event",
        "overlay",
        "branch",
        "force",
        "reason",
        "gitops",
    }


class FakePrefect:
    """The part of Prefect's REST API a command uses to hand a run over, answering as a
    server whose executors (``executors``) claim and finish every run created, publishing
    ``publish(parameters)`` as its outcome."""

    def __init__(
        self,
        executors: list[ExecutorIdentity],
        publish: Callable[[dict[str, Any]], RunOutcome],
        *,
        claims: bool = True,
    ) -> None:
        self.executors = executors
        self.publish = publish
        self.claims = claims
        self.created: list[dict[str, Any]] = []
        self.states: list[str] = []
        self.polls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        body = json.loads(request.content) if request.content else {}
        if path == "/variables/filter":
            found = [{"name": i.variable, "value": i.to_json()} for i in self.executors]
            return httpx.Response(200, json=found)
        if match := re.fullmatch(r"/deployments/name/(.+)", path):
            deployment = DEPLOYMENTS.get(match.group(1))
            return (
                httpx.Response(404)
                if deployment is None
                else httpx.Response(200, json={"id": deployment})
            )
        if match := re.fullmatch(r"/deployments/(.+)/create_flow_run", path):
            self.created.append({**body, "deployment_id": match.group(1)})
            return httpx.Response(201, json=self._run("SCHEDULED"))
        if path == f"/flow_runs/{RUN_ID}":
            self.polls += 1
            if not self.claims:
                return httpx.Response(200, json=self._run("SCHEDULED"))
            return httpx.Response(200, json=self._run("RUNNING" if self.polls < 3 else "COMPLETED"))
        if path == f"/flow_runs/{RUN_ID}/set_state":
            self.states.append(body["state"]["type"])
            return httpx.Response(200, json={"status": "ACCEPT"})
        if path == "/logs/filter":
            records = [
                {
                    "timestamp": "2026-11-29T07:10:09+00:00",
                    "level": 20,
                    "message": "on the executor",
                }
            ]
            return httpx.Response(200, json=records[body["offset"] :])
        if path == "/artifacts/filter":
            outcome = self.publish(self.created[-1]["parameters"])
            return httpx.Response(200, json=[{"key": OUTCOME_KEY, "data": outcome.to_markdown()}])
        return httpx.Response(404)

    def _run(self, state: str) -> dict[str, Any]:
        return {
            "id": RUN_ID,
            "name": "a-run",
            "state": {"type": state, "name": state.title()},
            "parameters": self.created[-1]["parameters"] if self.created else {},
            "deployment_id": self.created[-1]["deployment_id"] if self.created else None,
        }


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path, gitops_remote=str(tmp_path))


def _serving(settings: Settings) -> ExecutorIdentity:
    return ExecutorIdentity(
        name="executor-1", pid=1, code=code_fingerprint(), settings=settings_fingerprint(settings)
    )


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The commands' in-process paths, replaced: each records that it ran and ends as a
    flow run whose result is a usage error."""
    ran: list[str] = []

    def promote_here(settings: Settings, args: argparse.Namespace, *_: Any) -> RunOutcome:
        ran.append("promote")
        return _promotion(UsageError("ran in-process"))

    def rescan_here(*_: Any) -> RunOutcome:
        ran.append("rescan")
        return _rescan(UsageError("ran in-process"))

    monkeypatch.setattr(promote_command, "_promote_here", promote_here)
    monkeypatch.setattr(rescan_command, "_rescan_here", rescan_here)
    yield ran


def _serve(monkeypatch: pytest.MonkeyPatch, fake: FakePrefect) -> None:
    monkeypatch.setattr(
        remote_run,
        "api_client",
        lambda settings, timeout: httpx.Client(
            base_url="http://prefect.test/api", transport=httpx.MockTransport(fake.handle)
        ),
    )


def _promotion(ended: object) -> RunOutcome:
    return promotion_outcome(
        source="dev",
        target="staging",
        flow_run_id=RUN_ID,
        flow_run_url=f"http://ui/runs/flow-run/{RUN_ID}",
        ended=ended,
    )


def _rescan(ended: object) -> RunOutcome:
    return rescan_outcome(
        flow_run_id=RUN_ID, flow_run_url=f"http://ui/runs/flow-run/{RUN_ID}", ended=ended
    )


PROMOTED = PromotionResult(
    "dev",
    "staging",
    "e" * 40,
    "f" * 40,
    (PromotedImage("bookstore/catalog", CATALOG, ("signature", "scan-gate")),),
    branch="main",
)
BLOCKED = DigestRescan(
    reference=CATALOG,
    overlays=("dev", "staging"),
    passed=False,
    new=("CVE-2099-0001 stdlib",),
    fixed=(),
    unchanged=(),
    blocked=True,
)


def _promote_args(*extra: str) -> argparse.Namespace:
    from deployments.cli import _parser

    return _parser().parse_args(["promote", "--from", "dev", "--to", "staging", "--json", *extra])


def test_promote_goes_through_its_deployment_and_prints_the_runs_outcome(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    in_process: list[str],
) -> None:
    fake = FakePrefect([_serving(settings)], lambda parameters: _promotion(PROMOTED))
    _serve(monkeypatch, fake)
    caplog.set_level("INFO", logger="seamline.cli")
    code = promote_command.run_promote(settings, _promote_args(), ["s3cret-password"])
    assert code == 0 and in_process == []
    [created] = fake.created
    assert created["deployment_id"] == "dep-promote" and created["tags"] == ["seamline-promote"]
    assert created["parameters"] == {
        "source": "dev",
        "target": "staging",
        "services": "",
        "pr": False,
        "gitops": settings.gitops_remote,
    }
    printed = capfd.readouterr()
    assert printed.out == _promotion(PROMOTED).to_json()  # what an in-process run prints
    assert json.loads(printed.out)["commit"] == "f" * 40
    assert "seamline: promote dev -> staging on seamline-promote/promote" in caplog.text
    assert "on the executor" in printed.err  # the run's log records, streamed
    assert f"committed {'f' * 40} to main: bookstore/catalog" in caplog.text


def test_a_blocked_rescan_on_its_deployment_is_exit_1_with_the_digests(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    in_process: list[str],
) -> None:
    blocked = GateFailure(
        "1 pinned digest(s) ... blocked", hint="rebuild", details={"digests": [BLOCKED.as_dict()]}
    )
    fake = FakePrefect([_serving(settings)], lambda parameters: _rescan(blocked))
    _serve(monkeypatch, fake)
    args = argparse.Namespace(json=True, local=False)
    assert rescan_command.run_rescan(settings, args, []) == 1 and in_process == []
    [created] = fake.created
    assert created["deployment_id"] == "dep-rescan"
    assert created["parameters"] == {"reason": "manual", "gitops": settings.gitops_remote}
    payload = json.loads(capsys.readouterr().out)
    assert payload["state"] == "Failed" and payload["digests"][0]["blocked"] is True
    assert payload["errors"][0]["exit_code"] == 1


def test_local_never_asks_the_api(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, in_process: list[str]
) -> None:
    fake = FakePrefect([_serving(settings)], lambda parameters: _promotion(PROMOTED))
    _serve(monkeypatch, fake)
    assert promote_command.run_promote(settings, _promote_args("--local"), []) == 2
    assert rescan_command.run_rescan(settings, argparse.Namespace(json=False, local=True), []) == 2
    assert in_process == ["promote", "rescan"] and fake.created == [] and fake.polls == 0


@pytest.mark.parametrize(
    "why",
    ["no executor", "another code", "not registered", "not claimed"],
)
def test_the_run_stays_in_process_and_says_why(
    why: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    in_process: list[str],
) -> None:
    executors = {
        "no executor": [],
        "another code": [ExecutorIdentity(name="old", pid=1, code="0" * 64, settings="0" * 64)],
    }.get(why, [_serving(settings)])
    fake = FakePrefect(executors, lambda p: _promotion(PROMOTED), claims=why != "not claimed")
    _serve(monkeypatch, fake)
    if why == "not registered":
        monkeypatch.delitem(DEPLOYMENTS, "seamline-promote/promote")
    if why == "not claimed":
        monkeypatch.setattr(remote_run, "CLAIM_TIMEOUT_S", 0.2)
    caplog.set_level("INFO", logger="seamline.cli")
    assert promote_command.run_promote(settings, _promote_args(), []) == 2
    assert in_process == ["promote"]
    said = {
        "no executor": "no executor runs this code with these settings: running in this process",
        "another code": "no executor runs this code with these settings: running in this process",
        "not registered": "seamline-promote/promote is not registered: running in this process",
        "not claimed": "no executor took the run within",
    }[why]
    assert said in caplog.text
    if why == "not claimed":
        assert fake.states == ["CANCELLED"]  # withdrawn, so it never runs twice


def test_a_credential_in_a_parameter_keeps_the_run_in_process(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    in_process: list[str],
) -> None:
    with_token = settings.model_copy(
        update={"gitops_remote": "https://x-access-token:ghp_abc@github.com/acme/gitops.git"}
    )
    fake = FakePrefect([_serving(with_token)], lambda parameters: _promotion(PROMOTED))
    _serve(monkeypatch, fake)
    caplog.set_level("INFO", logger="seamline.cli")
    assert promote_command.run_promote(with_token, _promote_args(), []) == 2
    assert fake.created == [] and in_process == ["promote"]
    assert "a parameter carries a credential" in caplog.text


def test_what_counts_as_a_credential_in_parameters() -> None:
    assert carries_credential({"gitops": "https://tok@github.com/a/b.git"}, [])
    assert carries_credential({"services": "orders,s3cret"}, ["s3cret"])
    assert not carries_credential({"gitops": "ssh://git@github.com/a/b.git", "pr": True}, ["s3"])
    assert not carries_credential({"gitops": "/srv/gitops.git", "reason": ""}, [""])


@pytest.mark.parametrize(
    "outcome",
    [
        _promotion(PROMOTED),
        _promotion(GateFailure("refused", hint="fix", details={"failures": [{"check": "x"}]})),
        _rescan(RescanResult((BLOCKED,))),
        _rescan(GateFailure("blocked", details={"digests": [BLOCKED.as_dict()]})),
    ],
)
def test_an_outcome_read_back_from_its_run_prints_byte_for_byte_the_same(
    outcome: RunOutcome,
) -> None:
    read = RunOutcome.from_artifact({"key": OUTCOME_KEY, "data": outcome.to_markdown()})
    assert read is not None
    assert read.to_json() == outcome.to_json()
    assert (read.exit_code, read.summary) == (outcome.exit_code, outcome.summary)


def test_secrets_are_masked_in_the_outcome_a_run_publishes_and_prints() -> None:
    outcome = _promotion(UsageError("forge said no to token ghp_abc", hint="ghp_abc"))
    mask_secrets(["ghp_abc"])
    try:
        assert "ghp_abc" not in outcome.to_markdown() and "ghp_abc" not in outcome.to_json()
        assert "***" in outcome.to_json()
    finally:
        mask_secrets([])
