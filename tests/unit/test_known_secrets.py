"""Every secret this machine holds is masked in whatever a seamline process prints."""

from __future__ import annotations

from pathlib import Path

from seamline.config.settings import Settings


def test_every_generated_secret_is_masked(tmp_path: Path) -> None:
    from deployments.flow_process import known_secrets
    from seamline.orchestration.api_access import ensure_api_auth
    from seamline.webhook.secret import ensure_secret

    settings = Settings(state_dir=tmp_path)
    webhook = ensure_secret(tmp_path).read_text().strip()
    auth = ensure_api_auth(settings).get_secret_value()
    assert {webhook, auth} <= set(known_secrets(settings))
