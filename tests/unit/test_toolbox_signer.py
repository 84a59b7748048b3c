"""The signer the toolbox builds from settings: the local stack's key by default, a user's
key file or a KMS key when set; a password only through the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from seamline.adapters.toolbox import Toolbox
from seamline.config.settings import Settings
from seamline.errors import StateCorrupt, UsageError

PUBLIC = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"


def _key_pair(folder: Path, *, password: str | None = None) -> None:
    folder.mkdir(parents=True, mode=0o700)
    (folder / "cosign.key").write_text("encrypted")
    (folder / "cosign.pub").write_text(PUBLIC)
    if password is not None:
        (folder / "cosign.password").write_text(password)
        (folder / "cosign.password").chmod(0o600)


def test_default_is_the_local_stack_key(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    _key_pair(settings.local_signing_dir, password="pw")
    signer = Toolbox(settings).signer()
    assert signer.identity == f"key:{PUBLIC.strip()}"
    flags = signer._signing_flags()  # type: ignore[attr-defined]
    with flags as argv:
        assert argv[:2] == ["--key", str(tmp_path / "secrets" / "cosign.key")]
    assert signer._secrets() == ["pw"]  # type: ignore[attr-defined]


def test_missing_local_key_says_to_start_the_stack(tmp_path: Path) -> None:
    with pytest.raises(StateCorrupt, match="local signing key") as caught:
        Toolbox(Settings(state_dir=tmp_path)).signer()
    assert caught.value.exit_code == 3
    assert "seamline stack up" in caught.value.hint


def test_a_users_key_file_with_its_password_file(tmp_path: Path) -> None:
    _key_pair(tmp_path / "keys")
    secret = tmp_path / "keys" / "pass"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    settings = Settings(
        state_dir=tmp_path / "state",
        signing_key=str(tmp_path / "keys" / "cosign.key"),
        signing_password_file=secret,
    )
    signer = Toolbox(settings).signer()
    assert signer.identity == f"key:{PUBLIC.strip()}"
    assert signer._secrets() == ["s3cret"]  # type: ignore[attr-defined]


def test_a_password_file_others_can_read_is_refused(tmp_path: Path) -> None:
    _key_pair(tmp_path / "keys")
    secret = tmp_path / "keys" / "pass"
    secret.write_text("s3cret")
    secret.chmod(0o644)
    settings = Settings(
        signing_key=str(tmp_path / "keys" / "cosign.key"), signing_password_file=secret
    )
    with pytest.raises(StateCorrupt, match="readable by others"):
        Toolbox(settings).signer()


def test_a_missing_user_key_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        Toolbox(Settings(signing_key=str(tmp_path / "none.key"))).signer()


def test_a_kms_key_signs_and_verifies_by_its_uri(tmp_path: Path) -> None:
    uri = "awskms:///arn:aws:kms:eu-west-1:111122223333:key/abcd"
    settings = Settings(
        state_dir=tmp_path, signing_key=uri, cosign_password=SecretStr("unused-by-kms")
    )
    signer = Toolbox(settings).signer()
    assert signer.identity == f"key:{uri}"
    with signer._signing_flags() as argv:  # type: ignore[attr-defined]
        assert argv[:2] == ["--key", uri]
    assert signer._verify_flags()[:2] == ["--key", uri]  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["--key=x", "s3://bucket/key"])
def test_a_key_that_is_neither_file_nor_kms_is_refused(key: str) -> None:
    with pytest.raises(ValidationError):
        Settings(signing_key=key)
