"""seamline's Prefect deployments, and their registration on the server.

Every deployment runs on the process work pool ``seamline``, whose runs seamline's executors
(``deployments.executor``) claim and execute. They register this catalog when they start,
so the UI's "Run" form, ``prefect deployment run`` and ``seamline run`` all find the same
deployments, with the same parameters and descriptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seamline.config.settings import Settings
from seamline.errors import UsageError
from seamline.orchestration.executors import WORK_POOL
from seamline.orchestration.rest import PrefectRest

CI = ("seamline-ci", "ci")
RESCAN = ("seamline-rescan", "nightly")
PROMOTE = ("seamline-promote", "promote")
AUDIT = ("seamline-audit", "audit")
# Parameters a deployment run never takes from outside: the executor's settings apply.
EXECUTOR_ONLY = ("settings",)


@dataclass(frozen=True)
class DeploymentSpec:
    flow_name: str
    name: str
    entrypoint: str
    description: str
    load: Callable[[], Any]
    cron: str = ""
    timezone: str = "UTC"
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"


def _ci() -> Any:
    from flows.ci import ci

    return ci


def _rescan() -> Any:
    from flows.rescan import rescan

    return rescan


def _promote() -> Any:
    from flows.promote import promote

    return promote


def _audit() -> Any:
    from flows.audit import audit

    return audit


def catalog(settings: Settings) -> list[DeploymentSpec]:
    return [
        DeploymentSpec(
            flow_name=CI[0],
            name=CI[1],
            entrypoint="flows/ci.py:ci",
            description=(
                "Build, test, scan, sign and release one commit of a repository: a push "
                "bumps the overlay in the GitOps repository by digest; a pull request only "
                "builds, tests and scans."
            ),
            load=_ci,
            tags=("seamline", "ci"),
        ),
        DeploymentSpec(
            flow_name=RESCAN[0],
            name=RESCAN[1],
            entrypoint="flows/rescan.py:rescan",
            description=(
                "Scan every image digest the GitOps repository's overlays pin, with today's "
                "vulnerability DB, and fail when one no longer passes the gate."
            ),
            load=_rescan,
            cron=settings.rescan_cron,
            timezone=settings.rescan_timezone,
            tags=("seamline", "rescan"),
        ),
        DeploymentSpec(
            flow_name=PROMOTE[0],
            name=PROMOTE[1],
            entrypoint="flows/promote.py:promote",
            description=(
                "Move the image digests one overlay pins into the next (dev -> staging -> "
                "prod) by a Git commit or a pull request, after verifying each digest's "
                "signature, SBOM and provenance attestations and the target overlay's scan gate."
            ),
            load=_promote,
            tags=("seamline", "promote"),
        ),
        DeploymentSpec(
            flow_name=AUDIT[0],
            name=AUDIT[1],
            entrypoint="flows/audit.py:audit",
            description=(
                "Check every image the GitOps repository's overlays render as an admission "
                "policy that verifies images would: pinned by digest, in the registry, signed, "
                "with SBOM and provenance attestations, its latest vulnerability result "
                "passing; one table per overlay of what it would admit and refuse, and why."
            ),
            load=_audit,
            tags=("seamline", "audit"),
        ),
    ]


def parameter_schema(flow: Any) -> dict[str, Any]:
    """The flow's parameter schema (with its docstring's descriptions), without the
    parameters only the executor sets."""
    from prefect.utilities.callables import parameter_schema as flow_schema

    schema: dict[str, Any] = flow_schema(flow).model_dump_for_openapi()
    for name in EXECUTOR_ONLY:
        schema.get("properties", {}).pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    return schema


def cron_schedule(cron: str, timezone: str) -> dict[str, Any]:
    """A cron schedule as Prefect takes it; a bad line or zone is a usage error, here."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        schedule = CronSchedule(cron=cron, timezone=timezone)
    except ValidationError as e:
        reason = e.errors()[0]["msg"] if e.errors() else str(e)
        raise UsageError(
            f"the re-scan schedule {cron!r} ({timezone}) is not valid: {reason}",
            hint="set SEAMLINE_RESCAN_CRON to a cron line such as '0 2 * * *' and "
            "SEAMLINE_RESCAN_TIMEZONE to an IANA zone such as 'Europe/Berlin'",
        ) from e
    return {"cron": schedule.cron, "timezone": schedule.timezone}


def register(rest: PrefectRest, settings: Settings) -> dict[str, str]:
    """Create or update the work pool and every deployment; their ids by full name."""
    rest.ensure_work_pool(WORK_POOL, "seamline's executors run these deployments' runs")
    ids = {}
    for spec in catalog(settings):
        flow_id = rest.ensure_flow(spec.flow_name)
        schedules = []
        if spec.cron:
            schedules = [{"schedule": cron_schedule(spec.cron, spec.timezone), "active": True}]
        ids[spec.full_name] = rest.upsert_deployment(
            {
                "name": spec.name,
                "flow_id": flow_id,
                "work_pool_name": WORK_POOL,
                "entrypoint": spec.entrypoint,
                "path": str(settings.project_root),
                "description": spec.description,
                "tags": list(spec.tags),
                "parameter_openapi_schema": parameter_schema(spec.load()),
                "enforce_parameter_schema": True,
                "schedules": schedules,
            }
        )
    return ids
