"""The deployments seamline registers: names, entrypoints, the schedule and its checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployments.catalog import AUDIT, CI, PROMOTE, RESCAN, catalog, cron_schedule
from seamline.config.settings import Settings
from seamline.errors import UsageError


def test_the_nightly_rescan_is_scheduled_as_configured(tmp_path: Path) -> None:
    settings = Settings(
        state_dir=tmp_path, rescan_cron="30 3 * * 1-5", rescan_timezone="Europe/Berlin"
    )
    specs = {(s.flow_name, s.name): s for s in catalog(settings)}
    assert set(specs) == {CI, RESCAN, PROMOTE, AUDIT}
    assert specs[CI].cron == "" and specs[PROMOTE].cron == "" and specs[AUDIT].cron == ""
    assert (specs[RESCAN].cron, specs[RESCAN].timezone) == ("30 3 * * 1-5", "Europe/Berlin")
    assert specs[CI].entrypoint == "flows/ci.py:ci"


def test_a_bad_cron_line_or_zone_is_a_usage_error_naming_the_setting() -> None:
    assert cron_schedule("0 2 * * *", "UTC") == {"cron": "0 2 * * *", "timezone": "UTC"}
    for cron, zone in (("every night", "UTC"), ("0 2 * * *", "Mars/Olympus")):
        with pytest.raises(UsageError) as raised:
            cron_schedule(cron, zone)
        assert "SEAMLINE_RESCAN_CRON" in raised.value.hint


def test_the_ci_deployment_takes_what_seamline_run_sends_each_with_a_description(
    tmp_path: Path,
) -> None:
    import argparse

    from deployments.catalog import parameter_schema
    from deployments.run_command import run_parameters
    from flows.ci import ci

    schema = parameter_schema(ci)
    properties = schema["properties"]
    args = argparse.Namespace(ref="main", event="push", overlay="", branch="", force=False)
    sent = run_parameters(Settings(state_dir=tmp_path), "/srv/app.git", args)
    assert set(properties) == set(sent)  # and never `settings`: the executor's apply
    assert schema["required"] == ["repo"]
    for name, field in properties.items():
        assert field.get("description"), f"{name} has no description for the UI's form"


def test_the_promote_deployment_takes_what_seamline_promote_sends_each_described(
    tmp_path: Path,
) -> None:
    import argparse

    from deployments.catalog import parameter_schema
    from deployments.promote_command import promote_parameters
    from flows.promote import promote

    schema = parameter_schema(promote)
    args = argparse.Namespace(source="dev", target="staging", services="", pr=False)
    sent = promote_parameters(Settings(state_dir=tmp_path), args)
    assert (
        set(schema["properties"]) == set(sent) == {"source", "target", "services", "pr", "gitops"}
    )
    assert sorted(schema["required"]) == ["source", "target"]
    for name, field in schema["properties"].items():
        assert field.get("description"), f"{name} has no description for the UI's form"


def test_the_rescan_deployment_takes_what_seamline_rescan_sends_each_described(
    tmp_path: Path,
) -> None:
    from deployments.catalog import parameter_schema
    from deployments.rescan_command import rescan_parameters
    from flows.rescan import rescan

    schema = parameter_schema(rescan)
    sent = rescan_parameters(Settings(state_dir=tmp_path, gitops_remote="/srv/gitops.git"))
    assert set(schema["properties"]) == set(sent) == {"reason", "gitops"}
    assert sent == {"reason": "manual", "gitops": "/srv/gitops.git"}
    assert schema.get("required", []) == []
    for name, field in schema["properties"].items():
        assert field.get("description"), f"{name} has no description for the UI's form"


def test_the_audit_deployment_takes_one_optional_overlay_described() -> None:
    from deployments.catalog import parameter_schema
    from flows.audit import audit

    specs = {(s.flow_name, s.name): s for s in catalog(Settings())}
    assert specs[AUDIT].entrypoint == "flows/audit.py:audit"
    schema = parameter_schema(audit)
    assert set(schema["properties"]) == {"overlay"}
    assert schema.get("required", []) == []
    assert schema["properties"]["overlay"].get("description")
