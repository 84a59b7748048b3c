"""GitHub's REST API (api.github.com or GitHub Enterprise's ``https://HOST/api/v3``), as
far as pull requests go: the ``PullRequests`` role, over httpx.

The token travels in the Authorization header only; no message this module raises
carries it.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from seamline.adapters.roles import OpenedPullRequest, PullRequestDraft
from seamline.adapters.tls import tls_context
from seamline.errors import ForgeFailed

API_VERSION = "2022-11-28"
ACCESS_HINT = (
    "set SEAMLINE_FORGE_TOKEN_FILE to a 0600 file (or SEAMLINE_FORGE_TOKEN) holding a token "
    "that may write the pull requests and contents of SEAMLINE_FORGE_REPOSITORY"
)
ALREADY_OPEN = "a pull request already exists"


class GitHubPulls:
    """Opens pull requests on one repository. Build it with ``GitHubPulls.connect``."""

    def __init__(self, *, client: httpx.Client, repository: str, token: SecretStr) -> None:
        self._http = client
        self._repository = repository
        self._owner = repository.partition("/")[0]
        self._token = token

    @classmethod
    def connect(
        cls,
        *,
        api_url: str,
        repository: str,
        token: SecretStr,
        transport: httpx.BaseTransport | None = None,
    ) -> GitHubPulls:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token.get_secret_value()}",
            "User-Agent": "seamline",
            "X-GitHub-Api-Version": API_VERSION,
        }
        client = httpx.Client(
            base_url=api_url,
            headers=headers,
            transport=transport,
            timeout=30.0,
            verify=tls_context(),
        )
        return cls(client=client, repository=repository, token=token)

    def close(self) -> None:
        self._http.close()

    def open(self, draft: PullRequestDraft) -> OpenedPullRequest:
        """Open ``draft``; when GitHub answers that one is already open for its head, that
        one (``existed``)."""
        path = f"/repos/{self._repository}/pulls"
        body = {"title": draft.title, "head": draft.head, "base": draft.base, "body": draft.body}
        response = self._request("POST", path, json=body)
        if response.status_code == 422 and ALREADY_OPEN in _reason(response).lower():
            return self._open_for(draft)
        self._raise_for(response, f"opening a pull request {draft.head} -> {draft.base}")
        return _opened(response.json(), existed=False)

    def _open_for(self, draft: PullRequestDraft) -> OpenedPullRequest:
        head = f"{self._owner}:{draft.head}"
        response = self._request(
            "GET", f"/repos/{self._repository}/pulls", params={"head": head, "state": "open"}
        )
        self._raise_for(response, f"listing the open pull requests of {head}")
        listed = response.json()
        if not isinstance(listed, list) or not listed:
            raise ForgeFailed(
                f"GitHub says a pull request from {draft.head} is open on {self._repository}, "
                "but lists none",
                hint=f"look for it on {self._repository}, then promote again",
            )
        return _opened(listed[0], existed=True)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise ForgeFailed(
                self._redacted(
                    f"GitHub at {self._http.base_url} did not answer {method} {path}: {e}"
                ),
                hint="check SEAMLINE_FORGE_API_URL and the network; the request is retried",
                transient=True,
            ) from e

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        reason = self._redacted(_reason(response))
        message = f"GitHub refused {what} on {self._repository}: HTTP {status}: {reason}"
        if status in (401, 403):
            raise ForgeFailed(message, hint=ACCESS_HINT)
        if status >= 500:
            raise ForgeFailed(message, hint="GitHub failed; the request is retried", transient=True)
        raise ForgeFailed(
            message,
            hint="check SEAMLINE_FORGE_REPOSITORY and that the base branch "
            "(SEAMLINE_GITOPS_BRANCH) exists there",
        )

    def _redacted(self, text: str) -> str:
        secret = self._token.get_secret_value()
        return text.replace(secret, "***") if secret else text


def _reason(response: httpx.Response) -> str:
    """GitHub's ``message`` with each entry of its ``errors``; the start of the text when
    the body is not GitHub's JSON (a proxy's error page)."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if not isinstance(data, dict):
        return response.reason_phrase
    parts = [str(data.get("message") or response.reason_phrase)]
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            detail = error.get("message") or " ".join(
                str(error[k]) for k in ("resource", "field", "code") if error.get(k)
            )
            parts.append(str(detail))
        else:
            parts.append(str(error))
    return "; ".join(parts)


def _opened(data: Any, *, existed: bool) -> OpenedPullRequest:
    try:
        return OpenedPullRequest(
            number=int(data["number"]), url=str(data["html_url"]), existed=existed
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ForgeFailed(
            "GitHub's answer names no pull request (no number or html_url)",
            hint="check that SEAMLINE_FORGE_API_URL is GitHub's REST API",
        ) from e
