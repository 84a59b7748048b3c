"""The GitHub pull-request client replaying recorded real GitHub responses
(tests/data/github/README.md says where each comes from) through httpx.MockTransport: the
requests it sends, what it reports, and that the token never shows in an error."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from seamline.adapters.github import GitHubPulls
from seamline.adapters.roles import PullRequestDraft
from seamline.errors import ForgeFailed
from tasks.retry_policy import transient_only

DATA = Path(__file__).parents[1] / "data" / "github"
TOKEN = "ghp_" + "s3cr3t" * 6
DRAFT = PullRequestDraft(
    title="seamline: promote dev -> staging",
    head="seamline/promote-dev-to-staging-0123456789ab",
    base="main",
    body="| image | reference | checks passed |\n",
)


def recorded(name: str) -> httpx.Response:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return httpx.Response(data["status"], json=data["body"], headers=data.get("headers"))


@dataclass
class GitHub:
    """Answers each request with the next recorded response, and keeps the requests."""

    answers: list[httpx.Response | Exception]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(
        self, api_url: str = "https://api.github.com", repository: str = "acme/gitops"
    ) -> GitHubPulls:
        return GitHubPulls.connect(
            api_url=api_url,
            repository=repository,
            token=SecretStr(TOKEN),
            transport=httpx.MockTransport(self),
        )


def _refused(github: GitHub, call: Callable[[GitHubPulls], object]) -> ForgeFailed:
    with pytest.raises(ForgeFailed) as raised:
        call(github.client())
    error = raised.value
    for text in (error.message, error.hint, error.diagnostics(), str(error), repr(error.args)):
        assert TOKEN not in text
    return error


def test_a_new_pull_request_is_posted_with_title_head_base_body_and_the_token() -> None:
    github = GitHub([recorded("create-pull-201.json")])
    opened = github.client().open(DRAFT)
    assert (opened.number, opened.url, opened.existed) == (
        1,
        "https://github.com/testgh3py/github3py/pull/1",
        False,
    )
    [sent] = github.requests
    assert (sent.method, str(sent.url)) == (
        "POST",
        "https://api.github.com/repos/acme/gitops/pulls",
    )
    assert json.loads(sent.content) == {
        "title": DRAFT.title,
        "head": DRAFT.head,
        "base": "main",
        "body": DRAFT.body,
    }
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/vnd.github+json"
    assert sent.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert TOKEN not in str(sent.url)


def test_github_enterprise_takes_its_api_v3_base_url() -> None:
    github = GitHub([recorded("create-pull-201.json")])
    github.client(api_url="https://github.example.com/api/v3").open(DRAFT)
    assert (
        str(github.requests[0].url) == "https://github.example.com/api/v3/repos/acme/gitops/pulls"
    )


def test_a_pull_request_already_open_for_the_head_is_found_and_reported() -> None:
    github = GitHub([recorded("pull-exists-422.json"), recorded("list-pulls-open-200.json")])
    opened = github.client().open(DRAFT)
    assert (opened.number, opened.url, opened.existed) == (
        1033,
        "https://github.com/sigmavirus24/github3.py/pull/1033",
        True,
    )
    post, lookup = github.requests
    assert post.method == "POST"
    assert (lookup.method, lookup.url.path) == ("GET", "/repos/acme/gitops/pulls")
    assert dict(lookup.url.params) == {"head": f"acme:{DRAFT.head}", "state": "open"}
    assert lookup.headers["Authorization"] == f"Bearer {TOKEN}"


def test_already_open_but_not_listed_is_an_error_not_a_guess() -> None:
    github = GitHub([recorded("pull-exists-422.json"), recorded("list-pulls-none-200.json")])
    error = _refused(github, lambda c: c.open(DRAFT))
    assert "lists none" in error.message and not error.transient


def test_another_validation_failure_carries_githubs_message() -> None:
    github = GitHub([recorded("validation-failed-422.json")])
    error = _refused(github, lambda c: c.open(DRAFT))
    assert "HTTP 422: Validation Failed; Label color invalid" in error.message
    assert error.exit_code == 3 and not error.transient
    assert len(github.requests) == 1  # no lookup: nothing is open


@pytest.mark.parametrize(
    ("recording", "reason"),
    [
        ("bad-credentials-401.json", "HTTP 401: Bad credentials"),
        ("forbidden-403.json", "HTTP 403: Resource not accessible by integration"),
    ],
)
def test_refused_credentials_name_the_token_setting(recording: str, reason: str) -> None:
    error = _refused(GitHub([recorded(recording)]), lambda c: c.open(DRAFT))
    assert reason in error.message and "acme/gitops" in error.message
    assert "SEAMLINE_FORGE_TOKEN_FILE" in error.hint
    assert error.exit_code == 3 and not error.transient


def _retried(error: ForgeFailed) -> bool:
    return transient_only(None, None, SimpleNamespace(data=error))


def test_a_github_outage_and_a_network_fault_are_retried() -> None:
    # No outage is recorded; the status is what decides.
    error = _refused(
        GitHub([httpx.Response(502, text="<html>Bad gateway</html>")]), lambda c: c.open(DRAFT)
    )
    assert "HTTP 502" in error.message and error.transient and _retried(error)
    fault = httpx.ConnectError(f"connection refused (Authorization: Bearer {TOKEN})")
    error = _refused(GitHub([fault]), lambda c: c.open(DRAFT))
    assert "did not answer POST /repos/acme/gitops/pulls" in error.message
    assert error.transient and _retried(error)
    refused = _refused(GitHub([recorded("bad-credentials-401.json")]), lambda c: c.open(DRAFT))
    assert not _retried(refused)
