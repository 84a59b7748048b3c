"""The receiver over real HTTP (tests/unit/webhook_receiver.py: uvicorn on an ephemeral
loopback port, a fake RunStarter), fed the payloads in tests/data/webhooks/."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from seamline.config.settings import Settings
from seamline.webhook.replay import DeliveryLog
from seamline.webhook.signature import digest, sign
from tests.unit.webhook_receiver import FakeStarter, running

DATA = Path(__file__).resolve().parents[1] / "data" / "webhooks"
SECRET = "correct-horse-battery-staple-webhook"
MAX_BODY = 16 * 1024


@dataclass
class Receiver:
    url: str
    starter: FakeStarter
    deliveries: DeliveryLog
    client: httpx.Client

    def post(
        self,
        event: str,
        body: bytes,
        *,
        delivery: str | None = None,
        signed: bool = True,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        }
        if signed:
            headers["X-Hub-Signature-256"] = sign(SECRET.encode(), body)
        headers.update(extra or {})
        return self.client.post(self.url, content=body, headers=headers)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    settings = Settings(
        state_dir=tmp_path,
        webhook_secret=SecretStr(SECRET),
        webhook_max_body=MAX_BODY,
        webhook_branches={"main": "dev"},
    )
    starter = FakeStarter()
    with running(settings, starter) as port, httpx.Client(timeout=10, trust_env=False) as client:
        yield Receiver(
            url=f"http://127.0.0.1:{port}/hooks",
            starter=starter,
            deliveries=DeliveryLog.under(tmp_path),
            client=client,
        )


def recorded(name: str, **changes: Any) -> bytes:
    payload = json.loads((DATA / name).read_text())
    payload.update(changes)
    return json.dumps(payload).encode()


def test_a_push_to_main_starts_a_releasing_run(receiver: Receiver) -> None:
    answer = receiver.post("push", recorded("github-push-main.json"), delivery="d-main")
    assert answer.status_code == 200
    assert answer.json() == {"status": "started", "flow_run_id": "flow-run-1", "delivery": "d-main"}
    [request] = receiver.starter.started
    assert (request.event, request.overlay, request.branch) == ("push", "dev", "main")
    assert request.commit == "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    recorded_as = receiver.deliveries.get("d-main")
    assert recorded_as is not None and recorded_as.outcome == "started"
    assert recorded_as.detail == "flow-run-1"


def test_a_replayed_delivery_starts_nothing(receiver: Receiver) -> None:
    body = recorded("github-push-main.json")
    assert receiver.post("push", body, delivery="d-once").status_code == 200
    again = receiver.post("push", body, delivery="d-once")
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "delivery": "d-once"}
    assert len(receiver.starter.started) == 1


def test_concurrent_replays_start_one_run(receiver: Receiver) -> None:
    body = recorded("github-push-main.json")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: receiver.post("push", body, delivery="d-race"), range(8)))
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 7 + ["started"]
    assert len(receiver.starter.started) == 1


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": digest(SECRET.encode(), b"another body")},
    ],
)
def test_missing_or_wrong_signature_is_401(receiver: Receiver, extra: dict[str, str]) -> None:
    answer = receiver.post("push", recorded("github-push-main.json"), signed=False, extra=extra)
    assert answer.status_code == 401
    assert receiver.starter.started == [] and len(receiver.deliveries) == 0


def test_a_signature_over_another_body_is_401(receiver: Receiver) -> None:
    body = recorded("github-push-main.json")
    forged = body.replace(b"refs/heads/main", b"refs/heads/evil")
    answer = receiver.post(
        "push", forged, signed=False, extra={"X-Hub-Signature-256": sign(SECRET.encode(), body)}
    )
    assert answer.status_code == 401 and receiver.starter.started == []


def test_invalid_json_and_missing_headers_are_400(receiver: Receiver) -> None:
    assert receiver.post("push", b"{not json").status_code == 400
    body = recorded("github-push-main.json")
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(SECRET.encode(), body)}
    assert receiver.client.post(receiver.url, content=body, headers=headers).status_code == 400
    assert receiver.starter.started == []


def test_a_declared_body_over_the_cap_is_413(receiver: Receiver) -> None:
    body = b"{" + b" " * MAX_BODY + b"}"
    answer = receiver.post("push", body)
    assert answer.status_code == 413 and receiver.starter.started == []


def test_a_streamed_body_over_the_cap_is_413(receiver: Receiver) -> None:
    chunks = [b" " * 1024] * (MAX_BODY // 1024 + 4)
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-stream",
        "X-Hub-Signature-256": sign(SECRET.encode(), b"".join(chunks)),
    }
    answer = receiver.client.post(receiver.url, content=iter(chunks), headers=headers)
    assert "content-length" not in {k.lower() for k in answer.request.headers}
    assert answer.status_code == 413 and receiver.starter.started == []


def test_a_body_at_the_cap_is_read(receiver: Receiver) -> None:
    body = json.dumps({"padding": " " * (MAX_BODY - 20)}).encode()
    assert len(body) <= MAX_BODY
    assert receiver.post("issues", body).status_code == 202


def test_ping_is_200(receiver: Receiver) -> None:
    answer = receiver.post("ping", recorded("github-ping.json"), delivery="d-ping")
    assert answer.status_code == 200
    assert answer.json() == {"status": "pong", "delivery": "d-ping"}


def test_an_unknown_event_is_202(receiver: Receiver) -> None:
    answer = receiver.post("issues", b'{"action": "opened"}', delivery="d-issue")
    assert answer.status_code == 202 and answer.json()["status"] == "ignored"
    recorded_as = receiver.deliveries.get("d-issue")
    assert recorded_as is not None and recorded_as.outcome == "ignored"


def test_a_deletion_starts_nothing(receiver: Receiver) -> None:
    answer = receiver.post("push", recorded("github-push-delete.json"))
    assert answer.status_code == 202
    assert answer.json()["reason"] == "refs/heads/feature/old-cart was deleted"
    assert receiver.starter.started == []


def test_a_tag_and_another_branch_build_only(receiver: Receiver) -> None:
    assert receiver.post("push", recorded("github-push-tag.json")).status_code == 200
    assert receiver.post("push", recorded("github-push-feature.json")).status_code == 200
    tag, feature = receiver.starter.started
    assert (tag.overlay, tag.branch, tag.ref) == (None, None, "refs/tags/v1.4.0")
    assert (feature.overlay, feature.branch) == (None, "feature/cart")


def test_a_pull_request_from_a_fork_starts_a_pull_request_run(receiver: Receiver) -> None:
    answer = receiver.post("pull_request", recorded("github-pull_request-fork.json"))
    assert answer.status_code == 200 and answer.json()["status"] == "started"
    [request] = receiver.starter.started
    assert request.event == "pull_request" and request.overlay is None
    assert request.repo == "https://github.com/contributor/bookstore.git"


def test_a_gitea_delivery_with_its_bare_signature(receiver: Receiver) -> None:
    body = recorded("gitea-push-main.json")
    headers = {
        "Content-Type": "application/json",
        "X-Gitea-Event": "push",
        "X-Gitea-Delivery": "0b7d1f6e-2f5c-4a40-9d55-7e8f2c1a4b3d",
        "X-Gitea-Signature": digest(SECRET.encode(), body),
    }
    answer = receiver.client.post(receiver.url, content=body, headers=headers)
    assert answer.status_code == 200
    [request] = receiver.starter.started
    assert request.repo == "https://gitea.example.com/acme/bookstore.git"
    assert request.overlay == "dev" and request.sender == "ada"


def test_a_run_that_cannot_start_is_503_and_may_be_redelivered(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    body = recorded("github-push-main.json")
    receiver.starter.failure = ConnectionError(f"Prefect API unreachable (auth {SECRET})")
    with caplog.at_level(logging.INFO):
        failed = receiver.post("push", body, delivery="d-retry")
    assert failed.status_code == 503
    assert SECRET not in failed.text and SECRET not in caplog.text
    assert "could not be started" in caplog.text
    receiver.starter.failure = None
    assert receiver.post("push", body, delivery="d-retry").json()["status"] == "started"


def test_the_secret_and_signatures_stay_out_of_logs_and_answers(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    body = recorded("github-push-main.json")
    signature = sign(SECRET.encode(), body)
    answers = []
    with caplog.at_level(logging.DEBUG):
        answers.append(receiver.post("push", body))
        answers.append(receiver.post("push", body, signed=False))
        answers.append(receiver.post("push", b"{not json"))
    for answer in answers:
        assert SECRET not in answer.text and signature not in answer.text
    assert SECRET not in caplog.text
    assert signature.removeprefix("sha256=") not in caplog.text


def test_health(receiver: Receiver) -> None:
    answer = receiver.client.get(receiver.url.replace("/hooks", "/healthz"))
    from seamline.orchestration.executors import code_fingerprint

    assert answer.json()["status"] == "ok"
    assert answer.json()["code"].startswith(code_fingerprint() + "/")
