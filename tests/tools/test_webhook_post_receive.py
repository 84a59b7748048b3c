"""The post-receive hook: a real push into a bare repository with the hook installed is
delivered, signed, to a real receiver; a receiver that is down never fails the push."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import sys
from pathlib import Path

import git
import httpx
import pytest
from pydantic import SecretStr

from deployments import post_receive
from seamline.config.settings import Settings
from seamline.errors import UsageError
from seamline.webhook.decide import BranchRules, RunRequest, decide
from seamline.webhook.events import ZERO_COMMIT, DeliveryHeaders, parse_event
from seamline.webhook.post_receive import (
    ENV_NAME,
    RefUpdate,
    install_hook,
    notify,
    push_payload,
    read_updates,
)
from seamline.webhook.secret import ensure_secret
from tests.unit.webhook_receiver import FakeStarter, running

OLD = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
NEW = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"


@pytest.fixture(autouse=True)
def _no_global_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)


def test_git_feeds_one_line_per_ref() -> None:
    text = f"{OLD} {NEW} refs/heads/main\n{ZERO_COMMIT} {NEW} refs/tags/v1\ngarbage\n"
    assert read_updates(text) == [
        RefUpdate(OLD, NEW, "refs/heads/main"),
        RefUpdate(ZERO_COMMIT, NEW, "refs/tags/v1"),
    ]


def test_the_payload_reads_as_a_github_push(tmp_path: Path) -> None:
    bare = tmp_path / "bookstore.git"
    payload = push_payload(
        RefUpdate(OLD, NEW, "refs/heads/main"),
        bare=bare,
        sender="ada",
        default_branch="main",
        head_commit={"id": NEW, "message": "m"},
    )
    event = parse_event("push", json.dumps(payload).encode())
    decision = decide(DeliveryHeaders("github", "push", "d"), event, BranchRules())
    assert isinstance(decision, RunRequest)
    assert (decision.repo, decision.commit, decision.overlay) == (str(bare), NEW, "dev")
    assert payload["repository"]["full_name"] == "local/bookstore"


def _repos(tmp_path: Path) -> tuple[Path, git.Repo]:
    bare = tmp_path / "bookstore.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    work = git.Repo.init(tmp_path / "work", initial_branch="main")
    with work.config_writer() as config:
        config.set_value("user", "name", "Ada")
        config.set_value("user", "email", "ada@example.com")
    (tmp_path / "work" / "README").write_text("bookstore\n")
    work.index.add(["README"])
    work.index.commit("first")
    work.create_remote("origin", str(bare))
    return bare, work


def test_a_push_reaches_the_receiver(tmp_path: Path) -> None:
    bare, work = _repos(tmp_path)
    state = tmp_path / "state"
    ensure_secret(state)  # the file the hook reads the secret from
    starter = FakeStarter()
    with running(Settings(state_dir=state), starter) as port:
        settings = Settings(state_dir=state, webhook_port=port)
        hook = install_hook(bare, settings, python=Path(sys.executable))
        pushed = work.remote("origin").push("main:main")
        assert not pushed.error
    [request] = starter.started
    assert request.commit == work.head.commit.hexsha
    assert (request.repo, request.branch, request.overlay) == (str(bare.resolve()), "main", "dev")
    assert request.sender
    assert stat.S_IMODE(hook.stat().st_mode) == 0o755
    env_file = hook.with_name(ENV_NAME)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    secret = (state / "secrets" / "webhook.secret").read_text()
    assert secret not in hook.read_text() and secret not in env_file.read_text()


def test_a_secret_from_the_settings_goes_to_the_private_environment_file(tmp_path: Path) -> None:
    bare = tmp_path / "bookstore.git"
    git.Repo.init(bare, bare=True)
    settings = Settings(state_dir=tmp_path, webhook_secret=SecretStr("s3cret value"))
    hook = install_hook(bare, settings, python=Path(sys.executable))
    assert "s3cret" not in hook.read_text()
    assert "SEAMLINE_WEBHOOK_SECRET='s3cret value'" in hook.with_name(ENV_NAME).read_text()


def test_a_foreign_hook_is_left_alone(tmp_path: Path) -> None:
    bare = tmp_path / "bookstore.git"
    git.Repo.init(bare, bare=True)
    (bare / "hooks" / "post-receive").write_text("#!/bin/sh\necho mine\n")
    with pytest.raises(UsageError):
        install_hook(bare, Settings(state_dir=tmp_path), python=Path(sys.executable))
    assert (bare / "hooks" / "post-receive").read_text() == "#!/bin/sh\necho mine\n"
    assert not (bare / "hooks" / ENV_NAME).exists()


def test_a_receiver_that_is_down_costs_a_warning(tmp_path: Path) -> None:
    bare, work = _repos(tmp_path)
    state = tmp_path / "state"
    ensure_secret(state)
    settings = Settings(state_dir=state, webhook_port=_free_port())
    install_hook(bare, settings, python=Path(sys.executable))
    pushed = work.remote("origin").push("main:main")
    assert not pushed.error
    assert git.Repo(bare).commit("main").hexsha == work.head.commit.hexsha


def test_the_entry_warns_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bare, work = _repos(tmp_path)
    work.remote("origin").push("main:main")
    sha = work.head.commit.hexsha
    monkeypatch.setenv("SEAMLINE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SEAMLINE_WEBHOOK_PORT", str(_free_port()))
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{ZERO_COMMIT} {sha} refs/heads/main\n"))
    assert post_receive.main(["--repository", str(bare)]) == 0  # no secret yet
    assert "no webhook secret" in capsys.readouterr().err
    ensure_secret(tmp_path / "state")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{ZERO_COMMIT} {sha} refs/heads/main\n"))
    assert post_receive.main(["--repository", str(bare)]) == 0  # nobody listening
    assert "refs/heads/main: not delivered (ConnectError)" in capsys.readouterr().err


def test_notify_reports_what_was_not_delivered(tmp_path: Path) -> None:
    bare, work = _repos(tmp_path)
    work.remote("origin").push("main:main")
    sha = work.head.commit.hexsha
    refused = httpx.MockTransport(lambda request: httpx.Response(401))
    with httpx.Client(transport=refused) as client:
        warnings = notify(
            [RefUpdate(ZERO_COMMIT, sha, "refs/heads/main")],
            bare=bare,
            url="http://receiver/hooks",
            secret=b"k",
            client=client,
        )
    assert warnings == ["refs/heads/main: the receiver answered 401"]
    with httpx.Client(transport=refused) as client:
        late = notify(
            [RefUpdate(ZERO_COMMIT, sha, "refs/heads/main")],
            bare=bare,
            url="http://receiver/hooks",
            secret=b"k",
            client=client,
            budget=0,
        )
    assert late == ["refs/heads/main: out of time, not delivered"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
