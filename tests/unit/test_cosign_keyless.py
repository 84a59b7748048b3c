"""Keyless signing without a token or identity is a usage error that says what to set."""

from __future__ import annotations

import pytest

from seamline.adapters.toolbox import Toolbox
from seamline.config.settings import Settings
from seamline.errors import UsageError


def test_keyless_without_token_or_identity_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        Toolbox(Settings(signing_mode="keyless")).signer()
    assert "SEAMLINE_OIDC_TOKEN" in caught.value.hint
    assert caught.value.exit_code == 2
