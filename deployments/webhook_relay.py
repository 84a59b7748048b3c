"""The webhook receiver's server: Starlette under uvicorn, on ``webhook_host:webhook_port``
(loopback unless configured otherwise), taking deliveries at ``/hooks``.

``serve(settings, starter)`` runs it until interrupted; the ``RunStarter`` decides how a
run is started (a flow run of the ``seamline-ci`` deployment).
"""

from __future__ import annotations

import uvicorn

from deployments.catalog import CI
from deployments.flow_process import known_secrets
from seamline.config.settings import Settings
from seamline.errors import SeamlineError, ServiceUnavailable
from seamline.orchestration.api_access import api_client
from seamline.orchestration.executors import (
    code_fingerprint,
    executor_identities,
    nudge,
    settings_fingerprint,
)
from seamline.orchestration.rest import PrefectRest
from seamline.output.human import configure
from seamline.webhook.app import create_app
from seamline.webhook.decide import BranchRules, RunRequest
from seamline.webhook.replay import DeliveryLog
from seamline.webhook.secret import load_secret
from seamline.webhook.starter import RunStarter


def server(settings: Settings, starter: RunStarter, *, port: int | None = None) -> uvicorn.Server:
    """A uvicorn server for the receiver; ``port`` 0 picks a free one (for tests)."""
    app = create_app(
        secret=load_secret(settings),
        starter=starter,
        deliveries=DeliveryLog.under(settings.state_dir),
        rules=BranchRules.from_settings(settings),
        max_body=settings.webhook_max_body,
        code=f"{code_fingerprint()}/{settings_fingerprint(settings)}",
    )
    config = uvicorn.Config(
        app,
        host=settings.webhook_host,
        port=settings.webhook_port if port is None else port,
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        access_log=False,  # the app logs every delivery's decision itself
        log_level="info",
    )
    return uvicorn.Server(config)


def serve(settings: Settings, starter: RunStarter) -> None:
    server(settings, starter).run()


class DeploymentStarter:
    """Starts a flow run of the ``seamline-ci/ci`` deployment for each accepted delivery,
    and records the delivery in Prefect's event feed, related to the run it started."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._rest = PrefectRest(api_client(settings, timeout=10))

    def start(self, request: RunRequest) -> str:
        deployment = self._rest.deployment_id(*CI)
        if deployment is None:
            raise ServiceUnavailable(
                "the seamline-ci/ci deployment is not registered",
                hint="run `seamline stack up` (the executors register it)",
            )
        run = self._rest.create_run(
            deployment,
            parameters={
                "repo": request.repo,
                "ref": request.commit,
                "event": request.event,
                "overlay": "",  # the run's preflight maps the branch, from the repository
                "branch": request.branch or "",
                "force": False,
                "reason": f"webhook delivery {request.delivery_id} from {request.sender}: "
                f"{request.reason}",
            },
            tags=["webhook", request.event],
            idempotency_key=f"webhook-{request.delivery_id}",
        )
        self._rest.emit_event(
            event="seamline.webhook.delivery",
            resource={
                "prefect.resource.id": f"seamline.webhook.delivery.{request.delivery_id}",
                "prefect.resource.name": f"{request.event} {request.ref}",
            },
            related=[
                {
                    "prefect.resource.id": f"prefect.flow-run.{run.id}",
                    "prefect.resource.role": "flow-run",
                    "prefect.resource.name": run.name,
                }
            ],
            payload={
                "delivery": request.delivery_id,
                "event": request.event,
                "repository": request.repo,
                "ref": request.ref,
                "commit": request.commit,
                "sender": request.sender,
                "reason": request.reason,
            },
        )
        try:
            nudge(self._settings, executor_identities(self._rest).values())
        except SeamlineError:
            pass  # the executors poll anyway
        return run.id


def main() -> None:
    settings = Settings()
    configure(verbose=False, secrets=known_secrets(settings))
    serve(settings, DeploymentStarter(settings))


if __name__ == "__main__":
    main()
