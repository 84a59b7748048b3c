"""What a delivery starts: a ``RunRequest`` or nothing (``Ignored``, with the reason).

A push to a branch the rules map to an overlay starts a releasing push run for the pushed
commit; a tag or any other branch starts a build-and-scan run or nothing, as configured;
a deletion starts nothing. An opened, updated or reopened pull request, forks included,
starts a pull-request run, which never signs, pushes or commits. The run's own preflight
remains the authority on releases: it checks the branch against the default branch's
``[pipeline.branch_overlays]`` again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, assert_never

from seamline.config.settings import Settings
from seamline.errors import SeamlineError
from seamline.overlay.files import is_bump_commit
from seamline.run.results import Event
from seamline.validate.names import check_name, check_ref
from seamline.webhook.events import DeliveryHeaders, Other, ParsedEvent, Ping, PullRequest, Push

OtherBranches = Literal["ignore", "build-only"]
PULL_REQUEST_ACTIONS = frozenset({"opened", "synchronize", "reopened"})


@dataclass(frozen=True)
class RunRequest:
    """A run to start: check out ``commit`` of ``repo`` (a clone URL or path); ``ref`` is
    the Git ref the delivery named, ``branch`` the branch the commit was pushed to (None
    for tags and pull requests), ``overlay`` the overlay the push may bump (None: build and
    scan only)."""

    event: Event
    repo: str
    ref: str
    commit: str
    overlay: str | None
    branch: str | None
    delivery_id: str
    sender: str
    reason: str


@dataclass(frozen=True)
class Ignored:
    reason: str


Decision = RunRequest | Ignored


@dataclass(frozen=True, kw_only=True)
class BranchRules:
    """Which branch's pushes may bump which overlay, and what a push elsewhere starts."""

    branches: Mapping[str, str] = field(default_factory=lambda: {"main": "dev"})
    other_branches: OtherBranches = "build-only"

    def __post_init__(self) -> None:
        for branch, overlay in self.branches.items():
            check_ref(branch, what="branch")
            check_name(overlay, what="overlay")
        if self.other_branches not in ("ignore", "build-only"):
            raise ValueError(
                f"other_branches must be ignore or build-only, not {self.other_branches!r}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> BranchRules:
        return cls(
            branches=dict(settings.webhook_branches),
            other_branches=settings.webhook_other_branches,
        )


def decide(headers: DeliveryHeaders, event: ParsedEvent, rules: BranchRules) -> Decision:
    if isinstance(event, Push):
        return _push(headers, event, rules)
    if isinstance(event, PullRequest):
        return _pull_request(headers, event)
    if isinstance(event, Ping):
        return Ignored("ping")
    if isinstance(event, Other):
        return Ignored(f"event {event.name} starts no run")
    assert_never(event)


def _push(headers: DeliveryHeaders, push: Push, rules: BranchRules) -> Decision:
    if push.deleted:
        return Ignored(f"{push.ref} was deleted")
    if is_bump_commit(push.head_message):
        return Ignored("seamline's own overlay bump: its images were built by the run that made it")
    branch, tag = push.branch, push.tag
    if branch is None and tag is None:
        return Ignored(f"{push.ref} is neither a branch nor a tag")
    name = branch if branch is not None else tag
    if not _valid_ref(name or ""):
        return Ignored(f"{push.ref} is not a valid ref name")
    overlay = rules.branches.get(branch) if branch is not None else None
    if overlay is None and rules.other_branches == "ignore":
        return Ignored(f"{push.ref} bumps no overlay and other pushes are ignored")
    if overlay is not None:
        reason = f"push to {branch} may bump overlay {overlay}"
    else:
        reason = f"push to {push.ref} bumps no overlay: build and scan only"
    return RunRequest(
        event="push",
        repo=push.repository.clone_url,
        ref=push.ref,
        commit=push.after,
        overlay=overlay,
        branch=branch,
        delivery_id=headers.delivery_id,
        sender=push.sender,
        reason=reason,
    )


def _pull_request(headers: DeliveryHeaders, pull: PullRequest) -> Decision:
    if pull.action not in PULL_REQUEST_ACTIONS:
        return Ignored(f"pull request #{pull.number} {pull.action} starts no run")
    if pull.head is None:
        return Ignored(f"pull request #{pull.number} comes from a repository that is gone")
    origin = f"{pull.head.full_name}:{pull.head_ref}" if pull.from_fork else pull.head_ref
    return RunRequest(
        event="pull_request",
        # The head commit lives in the head repository, the fork's for a fork's request.
        repo=pull.head.clone_url,
        ref=f"refs/pull/{pull.number}/head",
        commit=pull.head_sha,
        overlay=None,
        branch=None,
        delivery_id=headers.delivery_id,
        sender=pull.sender,
        reason=f"pull request #{pull.number} {pull.action}: {origin} into {pull.base_ref}",
    )


def _valid_ref(name: str) -> bool:
    try:
        check_ref(name)
    except SeamlineError:
        return False
    return True
