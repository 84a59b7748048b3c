"""GitHub and Gitea/Forgejo webhook deliveries, parsed into typed events.

Only what a run needs is read, and every field is checked for type and shape (commit ids
are 40 hex digits), so nothing past this module handles raw JSON. Gitea and Forgejo name
their headers ``X-Gitea-*`` / ``X-Forgejo-*`` and call a pull request update
``synchronized``; both are read as GitHub's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from seamline.errors import DeliveryInvalid

Source = Literal["github", "gitea", "forgejo"]
ZERO_COMMIT = "0" * 40
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_EVENT_NAME = re.compile(r"^[a-z_]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\[\]-]{0,99}$")  # forge user names, bots
# Header prefixes by source, the first one present wins (Gitea sends X-GitHub-Event too).
_SOURCES: tuple[tuple[Source, str], ...] = (
    ("github", "x-github-"),
    ("gitea", "x-gitea-"),
    ("forgejo", "x-forgejo-"),
)


@dataclass(frozen=True)
class DeliveryHeaders:
    source: Source
    event: str
    delivery_id: str


@dataclass(frozen=True)
class Repository:
    full_name: str
    clone_url: str


@dataclass(frozen=True)
class Push:
    repository: Repository
    ref: str
    before: str
    after: str
    sender: str
    head_message: str = ""  # the pushed head commit's message, when the delivery has it

    @property
    def deleted(self) -> bool:
        return self.after == ZERO_COMMIT

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None

    @property
    def tag(self) -> str | None:
        return self.ref.removeprefix("refs/tags/") if self.ref.startswith("refs/tags/") else None


@dataclass(frozen=True)
class PullRequest:
    action: str  # GitHub's words: opened, synchronize, reopened, closed, ...
    number: int
    base: Repository
    base_ref: str
    head: Repository | None  # None when the fork it came from is gone
    head_ref: str
    head_sha: str
    sender: str

    @property
    def from_fork(self) -> bool:
        return self.head is None or self.head.full_name != self.base.full_name


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Other:
    name: str


ParsedEvent = Push | PullRequest | Ping | Other


def delivery_headers(headers: Mapping[str, str]) -> DeliveryHeaders:
    """The event name and delivery id; ``headers`` is case-insensitive or lower-case."""
    for source, prefix in _SOURCES:
        event = headers.get(prefix + "event")
        if event is None:
            continue
        delivery = headers.get(prefix + "delivery", "")
        if not _EVENT_NAME.match(event):
            raise DeliveryInvalid("the event header is not an event name")
        if not _DELIVERY_ID.match(delivery):
            raise DeliveryInvalid("the delivery id header is missing or malformed")
        return DeliveryHeaders(source=source, event=event, delivery_id=delivery)
    raise DeliveryInvalid("no X-GitHub-Event, X-Gitea-Event or X-Forgejo-Event header")


def parse_event(event: str, body: bytes) -> ParsedEvent:
    """The typed event of a delivery; ``DeliveryInvalid`` for a body that is not a JSON
    object or a known event that lacks a field it must have."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DeliveryInvalid("the body is not UTF-8 JSON") from e
    if not isinstance(payload, dict):
        raise DeliveryInvalid("the body is not a JSON object")
    if event == "push":
        return _push(payload)
    if event == "pull_request":
        return _pull_request(payload)
    if event == "ping":
        return Ping()
    return Other(name=event)


def _push(payload: dict[str, Any]) -> Push:
    return Push(
        repository=_repository(_object(payload, "repository"), "repository"),
        ref=_text(payload, "ref"),
        before=_commit(payload, "before"),
        after=_commit(payload, "after"),
        sender=_login(payload),
        head_message=_head_message(payload),
    )


def _head_message(payload: dict[str, Any]) -> str:
    head = payload.get("head_commit")
    message = head.get("message") if isinstance(head, dict) else None
    return message if isinstance(message, str) else ""


def _pull_request(payload: dict[str, Any]) -> PullRequest:
    pull = _object(payload, "pull_request")
    base = _object(pull, "base")
    head = _object(pull, "head")
    head_repo = head.get("repo")
    action = _text(payload, "action")
    number = payload.get("number", pull.get("number"))
    if not isinstance(number, int) or isinstance(number, bool):
        raise DeliveryInvalid("number is not an integer")
    return PullRequest(
        action="synchronize" if action == "synchronized" else action,
        number=number,
        base=_repository(_object(payload, "repository"), "repository"),
        base_ref=_text(base, "ref"),
        head=_repository(head_repo, "pull_request.head.repo")
        if isinstance(head_repo, dict)
        else None,
        head_ref=_text(head, "ref"),
        head_sha=_commit(head, "sha"),
        sender=_login(payload),
    )


def _repository(value: dict[str, Any], where: str) -> Repository:
    return Repository(
        full_name=_text(value, "full_name", where),
        clone_url=_text(value, "clone_url", where),
    )


def _login(payload: dict[str, Any]) -> str:
    sender = payload.get("sender")
    if isinstance(sender, dict):
        login = sender.get("login", sender.get("username"))
        if isinstance(login, str) and _LOGIN.match(login):
            return login
    return ""


def _object(value: dict[str, Any], key: str) -> dict[str, Any]:
    found = value.get(key)
    if not isinstance(found, dict):
        raise DeliveryInvalid(f"{key} is missing or not an object")
    return found


def _text(value: dict[str, Any], key: str, where: str = "") -> str:
    found = value.get(key)
    if not isinstance(found, str) or not found:
        raise DeliveryInvalid(f"{where + '.' if where else ''}{key} is missing or not a string")
    if _CONTROL.search(found):
        # it goes into log lines and run reasons: a line break there could forge a line
        raise DeliveryInvalid(f"{where + '.' if where else ''}{key} holds control characters")
    return found


def _commit(value: dict[str, Any], key: str) -> str:
    found = _text(value, key)
    if not _COMMIT.match(found):
        raise DeliveryInvalid(f"{key} is not a 40-digit commit id")
    return found
