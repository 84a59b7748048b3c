"""Keyless signing as far as it goes without a Sigstore instance: the real cosign gets the
OIDC token from a private file, never from argv, and the token shows up in no error, log
or leftover file."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest
from pydantic import SecretStr

from seamline.adapters.cosign import Cosign, KeylessIdentity
from seamline.config.settings import Settings
from seamline.errors import ToolFailed
from seamline.tools.pins import locate

TOKEN = "eyJhbGciOiJSUzI1NiJ9.keyless-test-token-7f3a.c2lnbmF0dXJl"
REFERENCE = "127.0.0.1:9/seamline/keyless@sha256:" + "ab" * 32


def test_keyless_sign_keeps_the_token_out_of_argv_errors_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cosign = Cosign.keyless_mode(
        binary=locate("cosign", Settings().tools_dir),
        identity=KeylessIdentity(
            identity_token=SecretStr(TOKEN),
            certificate_identity="ci@example.test",
            certificate_oidc_issuer="https://issuer.example.test",
            fulcio_url="http://127.0.0.1:9",  # nothing listens: signing must fail
            rekor_url="http://127.0.0.1:9",
        ),
    )
    leftovers_before = set(Path(tempfile.gettempdir()).glob("seamline-oidc-*"))
    caplog.set_level(logging.DEBUG, logger="seamline.tools.process")
    with pytest.raises(ToolFailed) as caught:
        cosign.sign(REFERENCE)
    error = caught.value
    assert error.exit_code == 3
    assert TOKEN not in error.diagnostics()
    assert error.message.startswith("cosign sign exited with 1: ")  # cosign's own words
    logged = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("run: "))
    argv = logged.split()
    token_argument = argv[argv.index("--identity-token") + 1]
    assert "/seamline-oidc-" in token_argument  # a private file, not the token itself
    assert TOKEN not in caplog.text
    assert "cosign" in caplog.text  # the runner did log the command and its output
    assert set(Path(tempfile.gettempdir()).glob("seamline-oidc-*")) == leftovers_before
