"""What each delivery starts, over the payloads in tests/data/webhooks/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seamline.config.settings import Settings
from seamline.errors import UsageError
from seamline.overlay.files import BUMP_TRAILER, is_bump_commit
from seamline.webhook.decide import BranchRules, Ignored, RunRequest, decide
from seamline.webhook.events import DeliveryHeaders, ParsedEvent, parse_event

DATA = Path(__file__).resolve().parents[1] / "data" / "webhooks"
HEADERS = DeliveryHeaders(source="github", event="push", delivery_id="d-1")
RULES = BranchRules(branches={"main": "dev", "release": "staging"})


def recorded(event: str, name: str, **changes: object) -> ParsedEvent:
    payload = json.loads((DATA / name).read_text())
    payload.update(changes)
    return parse_event(event, json.dumps(payload).encode())


def test_a_push_to_a_mapped_branch_releases_the_pushed_commit() -> None:
    decision = decide(HEADERS, recorded("push", "github-push-main.json"), RULES)
    assert decision == RunRequest(
        event="push",
        repo="https://github.com/acme/bookstore.git",
        ref="refs/heads/main",
        commit="0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        overlay="dev",
        branch="main",
        delivery_id="d-1",
        sender="octocat",
        reason="push to main may bump overlay dev",
    )


def test_each_mapped_branch_bumps_its_own_overlay() -> None:
    event = recorded("push", "github-push-main.json", ref="refs/heads/release")
    decision = decide(HEADERS, event, RULES)
    assert isinstance(decision, RunRequest) and decision.overlay == "staging"


def test_another_branch_builds_only_or_is_ignored() -> None:
    event = recorded("push", "github-push-feature.json")
    built = decide(HEADERS, event, RULES)
    assert isinstance(built, RunRequest)
    assert (built.event, built.overlay, built.branch) == ("push", None, "feature/cart")
    ignoring = BranchRules(branches={"main": "dev"}, other_branches="ignore")
    assert isinstance(decide(HEADERS, event, ignoring), Ignored)


def test_a_tag_builds_only_or_is_ignored() -> None:
    event = recorded("push", "github-push-tag.json")
    built = decide(HEADERS, event, RULES)
    assert isinstance(built, RunRequest)
    assert (built.overlay, built.branch, built.ref) == (None, None, "refs/tags/v1.4.0")
    ignoring = BranchRules(other_branches="ignore")
    assert isinstance(decide(HEADERS, event, ignoring), Ignored)


def test_a_deletion_starts_nothing_even_of_a_mapped_branch() -> None:
    event = recorded("push", "github-push-delete.json", ref="refs/heads/main")
    decision = decide(HEADERS, event, RULES)
    assert decision == Ignored("refs/heads/main was deleted")


@pytest.mark.parametrize("ref", ["refs/notes/commits", "refs/heads/-rf", "refs/heads/a..b"])
def test_refs_that_are_not_runnable(ref: str) -> None:
    event = recorded("push", "github-push-main.json", ref=ref)
    assert isinstance(decide(HEADERS, event, RULES), Ignored)


def test_a_fork_pull_request_runs_the_forks_commit_and_never_releases() -> None:
    headers = DeliveryHeaders(source="github", event="pull_request", delivery_id="d-2")
    decision = decide(headers, recorded("pull_request", "github-pull_request-fork.json"), RULES)
    assert isinstance(decision, RunRequest)
    assert decision.event == "pull_request"
    assert decision.repo == "https://github.com/contributor/bookstore.git"
    assert decision.commit == "5f3b8a1c9d2e4f6a7b8c9d0e1f2a3b4c5d6e7f80"
    assert (decision.overlay, decision.branch) == (None, None)
    assert "contributor/bookstore:retry-payments into main" in decision.reason


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened"])
def test_pull_request_actions_that_run(action: str) -> None:
    event = recorded("pull_request", "github-pull_request-fork.json", action=action)
    assert isinstance(decide(HEADERS, event, RULES), RunRequest)


@pytest.mark.parametrize("action", ["closed", "edited", "labeled"])
def test_pull_request_actions_that_do_not(action: str) -> None:
    event = recorded("pull_request", "github-pull_request-fork.json", action=action)
    assert isinstance(decide(HEADERS, event, RULES), Ignored)


def test_a_gitea_synchronized_pull_request_runs() -> None:
    event = recorded("pull_request", "gitea-pull_request-synchronized.json")
    decision = decide(HEADERS, event, RULES)
    assert isinstance(decision, RunRequest) and decision.event == "pull_request"
    assert decision.commit == "c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7"


def test_ping_and_other_events_start_nothing() -> None:
    assert decide(HEADERS, parse_event("ping", b"{}"), RULES) == Ignored("ping")
    assert decide(HEADERS, parse_event("issues", b"{}"), RULES) == Ignored(
        "event issues starts no run"
    )


def test_rules_check_their_names_and_come_from_settings() -> None:
    with pytest.raises(UsageError):
        BranchRules(branches={"main": "Not An Overlay"})
    with pytest.raises(UsageError):
        BranchRules(branches={"-main": "dev"})
    rules = BranchRules.from_settings(
        Settings(webhook_branches={"trunk": "qa"}, webhook_other_branches="ignore")
    )
    assert rules == BranchRules(branches={"trunk": "qa"}, other_branches="ignore")
    assert BranchRules.from_settings(Settings()).branches == {"main": "dev"}


def test_seamlines_own_bump_commit_starts_no_run() -> None:
    bump = f"seamline: dev: set image digests\n\nbookstore/orders: x\n\n{BUMP_TRAILER}: 1234\n"
    assert is_bump_commit(bump)
    event = recorded("push", "github-push-main.json", head_commit={"message": bump})
    decision = decide(HEADERS, event, RULES)
    assert isinstance(decision, Ignored) and "bump" in decision.reason
    mention = f"fix: mention {BUMP_TRAILER}: in the body\n\nSigned-off-by: a <a@b>"
    assert not is_bump_commit(mention) and not is_bump_commit("")
    event = recorded("push", "github-push-main.json", head_commit={"message": mention})
    assert isinstance(decide(HEADERS, event, RULES), RunRequest)
