"""The Prefect UI as the audit trail, seen the way a person sees it: headless Chromium logs
in, opens a run's page and its summary artifact, and finds every service and digest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from seamline.config.settings import Settings
from seamline.orchestration.api_access import api_client, prefect_api_auth
from tests.integration.browser import HeadlessChromium
from tests.integration.conftest import seamline, wait_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def released(stack_up: dict[str, Any]) -> dict[str, Any]:
    """A push run on the stack's own remote: every service with its digest."""
    result = seamline("run", "--json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _summary_artifact(settings: Settings, run_id: str) -> dict[str, Any] | None:
    with api_client(settings) as api:
        found = api.post(
            "/artifacts/filter",
            json={
                "artifacts": {
                    "key": {"any_": ["seamline-summary"]},
                    "flow_run_id": {"any_": [run_id]},
                }
            },
        ).json()
    return found[0] if found else None


def _log_in(browser: HeadlessChromium, settings: Settings) -> None:
    browser.open(settings.prefect_ui_url)
    auth = prefect_api_auth(settings)
    assert auth is not None
    wait_for(
        "the UI's login form",
        lambda: browser.has_selector("input[type=password]") or None,
        60,
    )
    browser.fill("input[type=password]", auth.get_secret_value())
    browser.press_enter("input[type=password]")
    wait_for("the UI past its login", lambda: not browser.has_selector("input[type=password]"), 60)


def test_the_run_page_and_its_summary_show_every_service_and_digest(
    released: dict[str, Any], settings: Settings
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    run_id = released["flow_run_id"]
    artifact = wait_for("the summary artifact", lambda: _summary_artifact(settings, run_id), 30)
    digests = [s["digest"] for s in released["services"]]
    names = [s["name"] for s in released["services"]]
    assert all(digests) and len(names) == 4
    with HeadlessChromium() as browser:
        _log_in(browser, settings)
        browser.open(f"{settings.prefect_ui_url}/runs/flow-run/{run_id}")
        try:
            # the page fills in parts: wait for each, never assert on a partial page
            browser.wait_for_text("push-main", "Completed", "seamline-ci", "seamline-run")
        finally:
            browser.screenshot(SCREENSHOTS / "flow-run.png")
        browser.open(f"{settings.prefect_ui_url}/artifacts/artifact/{artifact['id']}")
        try:
            browser.wait_for_text(*names, *digests, "GitOps commit")
        finally:
            browser.screenshot(SCREENSHOTS / "summary-artifact.png")
