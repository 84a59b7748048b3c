"""What every process that executes a flow sets up first, in-process or in an executor's
child: Prefect's environment, masked and durable logs, tool observers."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from seamline.config.settings import Settings
from seamline.orchestration.api_access import (
    api_client,
    prefect_api_auth,
    prefect_environment,
    undelivered_logs,
)
from seamline.orchestration.prefect_database import postgres_password
from seamline.tools.process import (
    ToolObserver,
    add_failure_observer,
    add_observer,
    set_base_environment,
)
from seamline.webhook.secret import secret_file


def known_secrets(settings: Settings) -> list[str]:
    """Every secret value this process could print: masked wherever output goes."""
    found = settings.secrets()
    password = settings.signing_password_path()
    if password is not None and password.is_file():
        found.append(password.read_text().strip())
    auth = prefect_api_auth(settings)
    if auth is not None:
        found.append(auth.get_secret_value())
    database = postgres_password(settings)
    if database is not None:
        found.append(database.get_secret_value())
    forge = settings.forge_token_file
    if forge is not None and forge.is_file():
        found.append(forge.read_text().strip())
    webhook = secret_file(settings.state_dir)
    if webhook.is_file():
        found.append(webhook.read_text().strip())
    return [s for s in found if s]


def enter_prefect_environment(settings: Settings) -> None:
    os.environ.update(prefect_environment(settings))  # Prefect reads its settings at import


def prepare_flow_process(
    settings: Settings,
    secrets: Sequence[str],
    tool_timings: Path | None = None,
    *,
    deliver_spool: bool = True,
) -> None:
    """``deliver_spool``: send logs spooled while the API was away; an executor's children
    leave that to their parent, so no two processes send one spooled batch."""
    from seamline.orchestration.log_delivery import (
        deliver_spooled_logs,
        keep_undelivered_logs,
        redact_prefect_logs,
    )
    from seamline.orchestration.outcome import mask_secrets

    redact_prefect_logs(secrets)
    mask_secrets(secrets)
    keep_undelivered_logs(undelivered_logs(settings))
    if deliver_spool:  # an earlier run's, if any: the API was away when they were written
        deliver_spooled_logs(undelivered_logs(settings), lambda: api_client(settings, timeout=5))
    set_base_environment({"GOMAXPROCS": str(settings.go_max_procs())})
    add_observer(timings_writer(settings, tool_timings))
    add_failure_observer(to_task_log)


def timings_writer(settings: Settings, extra: Path | None) -> ToolObserver:
    """One JSON line per tool call (tool, task, task run, service, seconds, ended) in the
    run's evidence folder, ``tool-timings.jsonl``: where a run's time went. The task run's
    name tells apart the runs of a task mapped over images (``promotion-checks[<image>]``,
    ``rescan[<reference>]``), which have no service. ``extra`` gets the lines too
    (``seamline run --tool-timings FILE``)."""
    from prefect.context import TaskRunContext

    lock = threading.Lock()

    def write(tool: str, seconds: float) -> None:
        context = TaskRunContext.get()
        if context is None or context.task_run is None:
            return
        service = context.parameters.get("service")
        record = {
            "tool": tool,
            "task": context.task.name,
            "task_run": context.task_run.name,
            "service": service,
        }
        line = json.dumps({**record, "seconds": seconds, "ended": time.time()}) + "\n"
        folder = settings.state_dir / "evidence" / str(context.task_run.flow_run_id)
        with lock:
            folder.mkdir(parents=True, exist_ok=True)
            for path in (folder / "tool-timings.jsonl", extra):
                if path is not None:
                    with path.open("a") as sink:
                        sink.write(line)

    return write


def to_task_log(tool: str, output: str, lines: int = 400) -> None:
    """A failing tool's own output, into the log of the task that ran it (the UI's)."""
    from prefect.context import TaskRunContext
    from prefect.logging import get_run_logger

    if TaskRunContext.get() is None or not output.strip():
        return
    kept = output.strip().splitlines()
    cut = f" (last {lines} of {len(kept)} lines)" if len(kept) > lines else ""
    get_run_logger().warning("%s failed; its output%s:\n%s", tool, cut, "\n".join(kept[-lines:]))
