"""Reruns the image and push stages of a pushed commit while the registry is out of
reach (its port closed), after a real preflight resolved the run's inputs; prints each
stage's final state name as JSON. Cache keys that read nothing hit the cache.

    python registry_blip.py REMOTE
"""

from __future__ import annotations

import json
import sys

from prefect import flow

from seamline.config.settings import Settings
from tasks.checkout import checkout
from tasks.context import RunContext
from tasks.image import build_image
from tasks.preflight import preflight
from tasks.push import push_image

REMOTE = sys.argv[1]


@flow(name="seamline-registry-blip-check")
def blip() -> dict[str, str]:
    settings = Settings(gitops_remote=REMOTE)
    workspace = checkout.fn(settings, REMOTE, "main", None)
    plan = preflight.fn(settings, workspace, "push", "", False)
    away = Settings(gitops_remote=REMOTE, registry_port=1)  # nothing listens there
    ctx = RunContext(
        settings=away,
        workspace=workspace,
        config=plan.config,
        event="push",
        overlay=plan.overlay,
        inputs=plan.inputs,
        flow_run_id="blip",
        flow_run_url="http://127.0.0.1/runs/blip",
        overlay_baseline=plan.overlay_baseline,
    )
    built = build_image(ctx, "catalog", return_state=True)
    pushed = push_image(ctx, built.result().service, built.result(), return_state=True)
    return {"image": str(built.name), "push": str(pushed.name)}


print(json.dumps(blip()))
