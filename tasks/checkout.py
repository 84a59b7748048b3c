"""Stage checkout: the source repository at the requested ref, in a workspace folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from prefect import task

from seamline.adapters.git_repo import checkout_ref
from seamline.results import Workspace
from seamline.settings import Settings
from tasks.retry_policy import transient_only


@task(name="checkout", retries=2, retry_delay_seconds=3, retry_condition_fn=transient_only)
def checkout(settings: Settings, repo: str, ref: str) -> Workspace:
    root = settings.state_dir / "workspaces"
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="incoming-", dir=root))
    try:
        commit = checkout_ref(repo, staging, ref)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final = root / commit
    if final.exists():
        shutil.rmtree(staging)
    else:
        staging.rename(final)
    return Workspace(path=str(final), repo=repo, commit=commit)
