"""What runs whose process is gone left behind, removed as the next run starts (and by the
executor as it reaps a run's process): their OCI layout folders, holding a pull request's
images, and their sandboxes, where the code under test would go on running."""

from __future__ import annotations

import docker.errors

from seamline.adapters.docker_engine import DockerEngine
from seamline.adapters.go_sandbox import remove_orphan_sandboxes
from seamline.config.settings import Settings
from seamline.errors import SeamlineError
from seamline.run.layout_owner import remove_orphans as remove_orphan_layouts
from tasks.context import Log


def remove_orphans(settings: Settings, log: Log, *, run_id: str = "") -> None:
    """Remove the layout folders and sandboxes of gone processes (never run ``run_id``'s).
    A Docker Engine out of reach leaves the sandboxes to a later run: a run needing it
    says so itself."""
    for orphan in remove_orphan_layouts(settings.layouts_dir, keep=run_id):
        log.info("removed the OCI layout folder of run %s, whose process is gone", orphan)
    try:
        engine = DockerEngine.connect(settings.docker_host, timeout=30)
    except SeamlineError:
        return
    try:
        for container in remove_orphan_sandboxes(engine.client):
            log.warning("stopped and removed sandbox %s: its run's process is gone", container)
    except docker.errors.DockerException as e:
        log.info("sandboxes of gone runs not checked: %s", e)
    finally:
        engine.close()
