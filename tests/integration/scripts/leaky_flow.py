"""A flow that handles a secret the way seamline's stages do: in settings, in a tool's
argv and stderr, and in a log line. Prints the flow run id."""

from __future__ import annotations

import sys

from prefect import flow, get_run_logger, task
from pydantic import SecretStr

from seamline.config.settings import Settings
from seamline.orchestration.log_delivery import redact_prefect_logs
from seamline.tools.process import run

SECRET = sys.argv[1]


@task(name="leaky-tool")
def leaky_tool(settings: Settings) -> None:
    password = settings.cosign_password.get_secret_value() if settings.cosign_password else ""
    get_run_logger().info("about to use password %s", password)
    code = "import sys; print('stderr says', sys.argv[1], file=sys.stderr); sys.exit(3)"
    run([sys.executable, "-c", code, password], secrets=[password])


@flow(name="seamline-redaction-check")
def leaky(settings: Settings) -> None:
    leaky_tool(settings)


if __name__ == "__main__":
    redact_prefect_logs([SECRET])
    state = leaky(Settings(cosign_password=SecretStr(SECRET)), return_state=True)
    print(state.state_details.flow_run_id)
