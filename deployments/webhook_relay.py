"""The webhook receiver's server: Starlette under uvicorn, on ``webhook_host:webhook_port``
(loopback unless configured otherwise), taking deliveries at ``/hooks``.

``serve(settings, starter)`` runs it until interrupted; the ``RunStarter`` decides how a
run is started (a flow run of the ``seamline-ci`` deployment).
"""

from __future__ import annotations

import uvicorn

from seamline.config.settings import Settings
from seamline.webhook.app import create_app
from seamline.webhook.decide import BranchRules
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
    )
    config = uvicorn.Config(
        app,
        host=settings.webhook_host,
        port=settings.webhook_port if port is None else port,
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )
    return uvicorn.Server(config)


def serve(settings: Settings, starter: RunStarter) -> None:
    server(settings, starter).run()
