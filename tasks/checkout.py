"""Stage checkout: the source repository at the requested ref, in a workspace folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import git
from prefect import task

from seamline.errors import ToolFailed, UsageError
from seamline.results import Workspace
from seamline.settings import Settings
from tasks.retry_policy import transient_only


@task(name="checkout", retries=2, retry_delay_seconds=3, retry_condition_fn=transient_only)
def checkout(settings: Settings, repo: str, ref: str) -> Workspace:
    root = settings.state_dir / "workspaces"
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="incoming-", dir=root))
    try:
        clone = git.Repo.clone_from(repo, staging, no_checkout=True)
    except git.exc.GitCommandError as e:
        raise ToolFailed(f"cannot clone {repo}: {e.stderr.strip()}", transient=True) from e
    try:
        clone.git.checkout(ref)
    except git.exc.GitCommandError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise UsageError(
            f"{repo} has no ref {ref!r}", hint="pass a branch, tag or commit that exists"
        ) from e
    commit = str(clone.head.commit.hexsha)
    clone.close()
    final = root / commit
    if final.exists():
        shutil.rmtree(staging)
    else:
        staging.rename(final)
    return Workspace(path=str(final), repo=repo, commit=commit)
