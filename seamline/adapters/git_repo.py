"""Git, through gitpython: the GitOps remote and working clones of it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import git

from seamline.errors import ToolFailed, UsageError
from seamline.runner import timed

AUTHOR = git.Actor("seamline", "seamline@localhost")
IGNORED = shutil.ignore_patterns(".git", "__pycache__", "*.pyc")


def head_of(bare: Path, branch: str) -> str | None:
    """The commit ``branch`` points at in the bare repository, or None."""
    if not (bare / "HEAD").exists():
        return None
    try:
        repo = git.Repo(bare)
        return str(repo.commit(f"refs/heads/{branch}").hexsha)
    except (git.exc.GitError, ValueError):
        return None


def seed_bare_remote(source: Path, bare: Path, *, branch: str, message: str) -> str:
    """Create ``bare`` holding one commit with the contents of ``source``; return its SHA."""
    bare.parent.mkdir(parents=True, exist_ok=True)
    try:
        git.Repo.init(bare, bare=True, initial_branch=branch)
        with tempfile.TemporaryDirectory(prefix="seamline-seed-") as tmp:
            work = Path(tmp) / "work"
            shutil.copytree(source, work, ignore=IGNORED)
            repo = git.Repo.init(work, initial_branch=branch)
            repo.git.add(A=True)
            commit = repo.index.commit(message, author=AUTHOR, committer=AUTHOR)
            repo.create_remote("origin", str(bare)).push(f"refs/heads/{branch}").raise_if_error()
            return str(commit.hexsha)
    except git.exc.GitError as e:
        shutil.rmtree(bare, ignore_errors=True)
        raise ToolFailed(f"seeding the GitOps remote {bare} failed: {e}") from e


class PushRejected(ToolFailed):
    """The remote moved on while we worked (non-fast-forward): fetch and redo, then retry."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


def clone(remote: str, dest: Path, *, branch: str) -> git.Repo:
    try:
        with timed("git clone"):
            return git.Repo.clone_from(remote, dest, branch=branch, depth=1)
    except git.exc.GitError as e:
        raise ToolFailed(
            f"cannot clone {remote} (branch {branch}): {e}",
            hint="check the GitOps remote URL and that the branch exists",
        ) from e


def commit_all(repo: git.Repo, message: str) -> str | None:
    """Commit every change in the work tree; None when there is nothing to commit."""
    repo.git.add(A=True)
    if not repo.index.diff("HEAD"):
        return None
    commit = repo.index.commit(message, author=AUTHOR, committer=AUTHOR)
    return str(commit.hexsha)


def push(repo: git.Repo, *, branch: str) -> None:
    with timed("git push"):
        infos = repo.remote("origin").push(f"HEAD:refs/heads/{branch}")
    for info in infos:
        if info.flags & (git.PushInfo.REJECTED | git.PushInfo.REMOTE_FAILURE):
            raise PushRejected(f"push to {branch} was rejected: the remote moved on")
        if info.flags & git.PushInfo.ERROR:
            raise ToolFailed(f"git push to {branch} failed: {info.summary.strip()}")
    if not infos or infos.error is not None:
        raise ToolFailed(f"git push to {branch} failed: {infos.error}")


def checkout_ref(remote: str, dest: Path, ref: str) -> str:
    """Clone ``remote`` into ``dest`` with ``ref`` checked out; return the commit SHA."""
    try:
        with timed("git clone"):
            repo = git.Repo.clone_from(remote, dest, no_checkout=True)
    except git.exc.GitCommandError as e:
        raise ToolFailed(f"cannot clone {remote}: {e.stderr.strip()}", transient=True) from e
    try:
        repo.git.checkout(ref)
    except git.exc.GitCommandError as e:
        raise UsageError(
            f"{remote} has no ref {ref!r}", hint="pass a branch, tag or commit that exists"
        ) from e
    finally:
        repo.close()
    return str(git.Repo(dest).head.commit.hexsha)
