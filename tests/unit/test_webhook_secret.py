"""The webhook secret: the setting, else the private file `stack up` generates."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from seamline.config.settings import Settings
from seamline.errors import EnvironmentProblem, StateCorrupt
from seamline.webhook.secret import ensure_secret, load_secret


def test_generated_private_and_kept(tmp_path: Path) -> None:
    path = ensure_secret(tmp_path)
    assert path == tmp_path / "secrets" / "webhook.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    first = path.read_text()
    assert len(first) >= 64
    assert ensure_secret(tmp_path) == path and path.read_text() == first


def test_the_setting_wins_over_the_file(tmp_path: Path) -> None:
    ensure_secret(tmp_path)
    settings = Settings(state_dir=tmp_path, webhook_secret=SecretStr("from-settings"))
    assert load_secret(settings).get_secret_value() == "from-settings"
    from_file = load_secret(Settings(state_dir=tmp_path))
    assert from_file.get_secret_value() == (tmp_path / "secrets" / "webhook.secret").read_text()


def test_no_secret_is_an_environment_problem(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem) as raised:
        load_secret(Settings(state_dir=tmp_path))
    assert raised.value.exit_code == 3 and "stack up" in raised.value.hint


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = ensure_secret(tmp_path)
    secret = path.read_text()
    path.chmod(0o644)
    with pytest.raises(StateCorrupt) as raised:
        load_secret(Settings(state_dir=tmp_path))
    assert secret not in raised.value.diagnostics()
    with pytest.raises(StateCorrupt):
        ensure_secret(tmp_path)


def test_the_secret_is_redacted_with_the_others() -> None:
    settings = Settings(webhook_secret=SecretStr("hush"))
    assert "hush" in settings.secrets()
    assert "hush" not in repr(settings)
