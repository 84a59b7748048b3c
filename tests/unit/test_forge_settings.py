"""The forge settings `seamline promote --pr` opens its pull request with: no forge by
default, a token from a 0600 file or the environment, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from seamline.adapters.github import GitHubPulls
from seamline.adapters.toolbox import Toolbox
from seamline.config.settings import Settings
from seamline.errors import StateCorrupt, UsageError

TOKEN = "ghp_" + "t0k3n" * 7


@pytest.fixture(autouse=True)
def _no_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SEAMLINE_FORGE_REPOSITORY", "SEAMLINE_FORGE_TOKEN", "SEAMLINE_FORGE_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_no_forge_by_default_the_local_stack() -> None:
    settings = Settings()
    assert settings.forge_api_url == "https://api.github.com" and settings.forge_repository == ""
    assert Toolbox(settings).pull_requests() is None


@pytest.mark.parametrize(
    "change",
    [
        {"forge_repository": "acme"},
        {"forge_repository": "acme/gitops/extra"},
        {"forge_repository": "acme/.."},
        {"forge_api_url": "http://api.github.com"},
        {"forge_api_url": "https://user:pw@github.example.com/api/v3"},
    ],
)
def test_bad_forge_settings_are_refused(change: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(**change)  # type: ignore[arg-type]


def test_github_enterprise_url_and_a_dotted_repository() -> None:
    settings = Settings(
        forge_api_url="https://github.example.com/api/v3/", forge_repository="acme/.github"
    )
    assert settings.forge_api_url == "https://github.example.com/api/v3"


def test_a_forge_without_a_token_is_a_usage_error_naming_the_setting() -> None:
    with pytest.raises(UsageError) as raised:
        Toolbox(Settings(forge_repository="acme/gitops")).pull_requests()
    assert raised.value.exit_code == 2 and "SEAMLINE_FORGE_TOKEN_FILE" in raised.value.hint


def test_the_token_comes_from_a_private_file_and_is_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from deployments.flow_process import known_secrets

    token_file = tmp_path / "forge.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o644)
    settings = Settings(
        forge_repository="acme/gitops", forge_token_file=token_file, state_dir=tmp_path
    )
    with pytest.raises(StateCorrupt, match="readable by others"):
        Toolbox(settings).pull_requests()
    token_file.chmod(0o600)
    forge = Toolbox(settings).pull_requests()
    assert isinstance(forge, GitHubPulls)
    forge.close()
    assert TOKEN in known_secrets(settings)
    monkeypatch.setenv("SEAMLINE_FORGE_TOKEN", "from-env")
    from_env = Settings(forge_repository="acme/gitops")
    assert from_env.forge_token == SecretStr("from-env") and "from-env" in from_env.secrets()
    assert "from-env" not in repr(from_env)
