"""Parsing GitHub and Gitea deliveries (tests/data/webhooks/: payloads in the shape each
forge sends, trimmed of fields seamline does not read)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seamline.errors import DeliveryInvalid
from seamline.webhook.events import (
    Other,
    Ping,
    PullRequest,
    Push,
    Repository,
    delivery_headers,
    parse_event,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "webhooks"


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_github_push() -> None:
    event = parse_event("push", recorded("github-push-main.json"))
    assert event == Push(
        repository=Repository("acme/bookstore", "https://github.com/acme/bookstore.git"),
        ref="refs/heads/main",
        before="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        after="0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        sender="octocat",
        head_message="catalog: list books by author",
    )
    assert event.branch == "main" and event.tag is None and not event.deleted


def test_github_tag_and_deletion() -> None:
    tag = parse_event("push", recorded("github-push-tag.json"))
    assert isinstance(tag, Push) and tag.tag == "v1.4.0" and tag.branch is None
    deleted = parse_event("push", recorded("github-push-delete.json"))
    assert isinstance(deleted, Push) and deleted.deleted
    assert deleted.branch == "feature/old-cart"


def test_github_pull_request_from_a_fork() -> None:
    event = parse_event("pull_request", recorded("github-pull_request-fork.json"))
    assert isinstance(event, PullRequest)
    assert event.action == "opened" and event.number == 42
    assert event.from_fork
    assert event.head == Repository(
        "contributor/bookstore", "https://github.com/contributor/bookstore.git"
    )
    assert event.head_sha == "5f3b8a1c9d2e4f6a7b8c9d0e1f2a3b4c5d6e7f80"
    assert event.base_ref == "main" and event.sender == "contributor"


def test_gitea_push_and_synchronized_pull_request() -> None:
    push = parse_event("push", recorded("gitea-push-main.json"))
    assert isinstance(push, Push)
    assert push.repository.clone_url == "https://gitea.example.com/acme/bookstore.git"
    assert push.sender == "ada" and push.branch == "main"
    pull = parse_event("pull_request", recorded("gitea-pull_request-synchronized.json"))
    assert isinstance(pull, PullRequest)
    assert pull.action == "synchronize"  # Gitea says "synchronized"
    assert not pull.from_fork and pull.head_ref == "reserve-on-checkout"


def test_a_pull_request_whose_fork_is_gone() -> None:
    payload = json.loads(recorded("github-pull_request-fork.json"))
    payload["pull_request"]["head"]["repo"] = None  # GitHub sends null for a deleted fork
    event = parse_event("pull_request", json.dumps(payload).encode())
    assert isinstance(event, PullRequest) and event.head is None and event.from_fork


def test_ping_and_other_events() -> None:
    assert parse_event("ping", recorded("github-ping.json")) == Ping()
    assert parse_event("issues", b"{}") == Other(name="issues")


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"'],
)
def test_a_body_that_is_not_a_json_object(body: bytes) -> None:
    with pytest.raises(DeliveryInvalid):
        parse_event("issues", body)


def test_a_push_without_what_a_run_needs() -> None:
    payload = json.loads(recorded("github-push-main.json"))
    for broken in (
        {**payload, "after": "HEAD"},
        {**payload, "after": "0d1a26e"},
        {k: v for k, v in payload.items() if k != "repository"},
        {**payload, "repository": {"full_name": "acme/bookstore"}},
        {**payload, "ref": 7},
    ):
        with pytest.raises(DeliveryInvalid):
            parse_event("push", json.dumps(broken).encode())


def test_headers_by_forge() -> None:
    github = delivery_headers(
        {"x-github-event": "push", "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
    )
    assert (github.source, github.event) == ("github", "push")
    gitea = delivery_headers(
        {"x-gitea-event": "pull_request", "x-gitea-delivery": "a3d1c7e0-6e4c-4c36-9d7e-2b8e"}
    )
    assert (gitea.source, gitea.delivery_id) == ("gitea", "a3d1c7e0-6e4c-4c36-9d7e-2b8e")
    forgejo = delivery_headers({"x-forgejo-event": "push", "x-forgejo-delivery": "d-1"})
    assert forgejo.source == "forgejo"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-github-event": "push"},
        {"x-github-event": "push", "x-github-delivery": "../../etc/passwd"},
        {"x-github-event": "push", "x-github-delivery": "x" * 200},
        {"x-github-event": "Push Event", "x-github-delivery": "d-1"},
    ],
)
def test_headers_missing_or_malformed(headers: dict[str, str]) -> None:
    with pytest.raises(DeliveryInvalid):
        delivery_headers(headers)


def test_text_that_would_forge_log_lines_is_refused() -> None:
    payload = json.loads(recorded("github-push-main.json"))
    payload["repository"]["full_name"] = "acme/bookstore\nERROR forged line"
    with pytest.raises(DeliveryInvalid, match="control characters"):
        parse_event("push", json.dumps(payload).encode())
    payload = json.loads(recorded("github-push-main.json"))
    payload["sender"]["login"] = "mallory\nINFO forged"
    event = parse_event("push", json.dumps(payload).encode())
    assert isinstance(event, Push) and event.sender == ""
