"""Git is the trigger: a real `git push` to the local remote, and signed deliveries over
real HTTP, start real runs on the stack; forged and replayed deliveries start nothing."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import git
import httpx

from seamline.config.settings import Settings
from seamline.orchestration.api_access import api_client
from seamline.webhook.secret import load_secret
from seamline.webhook.signature import sign
from tests.integration.conftest import ended_run, run_logs, wait_for

DATA = Path(__file__).resolve().parents[1] / "data" / "webhooks"


def _webhook_runs(settings: Settings) -> list[dict[str, Any]]:
    with api_client(settings) as api:
        found: list[dict[str, Any]] = api.post(
            "/flow_runs/filter",
            json={"flow_runs": {"tags": {"all_": ["webhook"]}}, "limit": 200},
        ).json()
    return found


def _run_for_commit(settings: Settings, commit: str) -> dict[str, Any] | None:
    runs = [r for r in _webhook_runs(settings) if r["parameters"].get("ref") == commit]
    return runs[0] if runs else None


def _deliver(
    settings: Settings, event: str, payload: dict[str, Any], *, delivery: str, secret: bytes
) -> httpx.Response:
    body = json.dumps(payload).encode()
    return httpx.post(
        settings.webhook_url,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(secret, body),
        },
        timeout=30,
    )


def _secret(settings: Settings) -> bytes:
    return load_secret(settings).get_secret_value().encode()


def test_git_push_to_the_local_remote_starts_a_push_run(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    remote = settings.local_gitops_remote
    work = git.Repo.clone_from(str(remote), tmp_path / "work", branch="main")
    notes = Path(work.working_dir) / "NOTES.md"
    notes.write_text(f"release notes {uuid.uuid4()}\n")  # no service's code changes
    work.index.add([str(notes)])
    commit = work.index.commit("docs: release notes").hexsha
    pushed = subprocess.run(
        ["git", "-C", str(work.working_dir), "push", "origin", "HEAD:main"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert pushed.returncode == 0, pushed.stderr
    run = wait_for("a run for the pushed commit", lambda: _run_for_commit(settings, commit), 30)
    assert run["parameters"]["event"] == "push" and run["parameters"]["branch"] == "main"
    assert run["parameters"]["reason"].startswith("webhook delivery ")
    ended = wait_for("the pushed commit's run ends", lambda: ended_run(settings, run["id"]), 600)
    assert ended["state"]["type"] == "COMPLETED", ended["state"]
    assert "started because: webhook delivery" in run_logs(
        settings, run["id"], expect="started because"
    )
    # the delivery is in the event feed, related to the run it started
    with api_client(settings) as api:
        events = api.post(
            "/events/filter",
            json={
                "filter": {
                    "event": {"prefix": ["seamline.webhook.delivery"]},
                    "related": {"id": [f"prefect.flow-run.{run['id']}"]},
                },
                "limit": 10,
            },
        ).json()["events"]
    assert [e["payload"]["commit"] for e in events] == [commit]


def test_a_signed_pull_request_starts_a_run_that_never_releases(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    remote = settings.local_gitops_remote
    head = git.Repo(remote).commit("main").hexsha
    payload = json.loads((DATA / "github-pull_request-fork.json").read_text())
    payload["pull_request"]["head"]["sha"] = head
    payload["pull_request"]["head"]["repo"]["clone_url"] = str(remote)
    delivery, secret = str(uuid.uuid4()), _secret(settings)
    answer = _deliver(settings, "pull_request", payload, delivery=delivery, secret=secret)
    assert answer.status_code == 200, answer.text
    started = answer.json()
    assert started["status"] == "started" and started["delivery"] == delivery
    run = wait_for("the run ends", lambda: ended_run(settings, started["flow_run_id"]), 600)
    assert run["parameters"]["event"] == "pull_request"
    assert run["state"]["type"] == "COMPLETED", run["state"]
    # replayed: answered, nothing started
    before = len(_webhook_runs(settings))
    again = _deliver(settings, "pull_request", payload, delivery=delivery, secret=secret)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len(_webhook_runs(settings)) == before


def test_forged_and_unsigned_deliveries_start_nothing(
    stack_up: dict[str, Any], settings: Settings
) -> None:
    payload = json.loads((DATA / "github-push-main.json").read_text())
    before = len(_webhook_runs(settings))
    forged = _deliver(settings, "push", payload, delivery=str(uuid.uuid4()), secret=b"guess")
    assert forged.status_code == 401
    unsigned = httpx.post(
        settings.webhook_url,
        content=json.dumps(payload).encode(),
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4())},
        timeout=30,
    )
    assert unsigned.status_code == 401
    assert len(_webhook_runs(settings)) == before
