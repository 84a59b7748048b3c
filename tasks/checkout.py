"""Stage checkout: the source repository at the requested ref, in a workspace folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from prefect import task

from seamline.adapters.git_repo import checkout_commit
from seamline.config.settings import Settings
from seamline.run.results import Workspace
from tasks.retry_policy import transient_only


@task(
    name="checkout",
    task_run_name="checkout",
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def checkout(settings: Settings, repo: str, ref: str, branch: str | None) -> Workspace:
    """Bad repositories and refs are usage errors, never retried; a network fault is."""
    root = settings.state_dir / "workspaces"
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)  # other users of the machine do not read the checkouts
    staging = Path(tempfile.mkdtemp(prefix="incoming-", dir=root))
    # The sandbox's unprivileged user reads the checkout through its bind mount.
    staging.chmod(0o755)
    try:
        checked = checkout_commit(repo, staging, ref, branch=branch)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final = root / checked.commit
    try:
        staging.rename(final)
    except OSError:  # another run checked out this commit first: use its folder
        shutil.rmtree(staging)
        if not final.is_dir():
            raise
    return Workspace(
        path=str(final),
        repo=repo,
        commit=checked.commit,
        branch=checked.branch,
        commit_time=checked.commit_time,
    )
