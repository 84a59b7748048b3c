"""Which executor may take a run: the same code and the same settings, nothing else."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from seamline.config.settings import Settings
from seamline.orchestration.executors import ExecutorIdentity, settings_fingerprint


def test_an_identity_round_trips_and_garbage_reads_as_none() -> None:
    identity = ExecutorIdentity(name="executor-1", pid=42, code="c", settings="s")
    assert ExecutorIdentity.from_value(identity.to_json()) == identity
    assert ExecutorIdentity.from_value('{"name": "x"}') is None
    assert ExecutorIdentity.from_value("not json") is None
    assert identity.serves("c", "s") and not identity.serves("c", "other")


def test_settings_that_change_what_a_run_does_change_the_fingerprint(tmp_path: Path) -> None:
    base = Settings(state_dir=tmp_path)
    assert settings_fingerprint(base) == settings_fingerprint(Settings(state_dir=tmp_path))
    assert settings_fingerprint(base) != settings_fingerprint(
        Settings(state_dir=tmp_path, gate_severities="CRITICAL")
    )
    # where runs execute, and the GitOps remote (a run parameter), do not
    assert settings_fingerprint(base) == settings_fingerprint(
        Settings(state_dir=tmp_path, executors=3, gitops_remote="/srv/other.git")
    )


def test_secrets_enter_the_fingerprint_only_hashed(tmp_path: Path) -> None:
    one = Settings(state_dir=tmp_path, cosign_password=SecretStr("hunter2-value"))
    two = Settings(state_dir=tmp_path, cosign_password=SecretStr("other-value"))
    assert settings_fingerprint(one) != settings_fingerprint(two)
    assert "hunter2-value" not in settings_fingerprint(one)
