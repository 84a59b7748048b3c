"""Git, through gitpython: the GitOps remote and working clones of it."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import git

from seamline.errors import PushRejected, ToolFailed, UsageError
from seamline.policy.overlay_moves import Relation
from seamline.tools.process import timed
from seamline.validate.names import COMMIT_ID, check_ref

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
            shutil.copytree(source, work, ignore=IGNORED, symlinks=True)
            repo = git.Repo.init(work, initial_branch=branch)
            repo.git.add(A=True)
            commit = repo.index.commit(message, author=AUTHOR, committer=AUTHOR)
            repo.create_remote("origin", str(bare)).push(f"refs/heads/{branch}").raise_if_error()
            return str(commit.hexsha)
    except git.exc.GitError as e:
        shutil.rmtree(bare, ignore_errors=True)
        raise ToolFailed(f"seeding the GitOps remote {bare} failed: {e}") from e


class GitRemote:
    """A GitOps remote and the branch bumps go to (the ``GitOpsRemote`` role)."""

    def __init__(self, *, url: str, branch: str) -> None:
        self._url = url
        self._branch = branch

    @property
    def url(self) -> str:
        return self._url

    @property
    def branch(self) -> str:
        return self._branch

    def clone(self, dest: Path) -> GitClone:
        """A shallow clone of the branch's tip in ``dest``."""
        try:
            with timed("git clone"):
                repo = git.Repo.clone_from(self._url, dest, branch=self._branch, depth=1)
        except git.exc.GitError as e:
            raise ToolFailed(
                f"cannot clone {self._url} (branch {self._branch}): {e}",
                hint="check the GitOps remote URL and that the branch exists",
            ) from e
        return GitClone(repo, branch=self._branch)


class GitClone:
    """A working clone that commits and pushes to its branch, or to a new one
    (``GitOpsClone``)."""

    def __init__(self, repo: git.Repo, *, branch: str) -> None:
        self._repo = repo
        self._branch = branch

    @property
    def path(self) -> Path:
        return Path(str(self._repo.working_dir))

    @property
    def head(self) -> str:
        return str(self._repo.head.commit.hexsha)

    def commit_all(self, message: str) -> str | None:
        """Commit every change in the work tree; None when there is nothing to commit."""
        self._repo.git.add(A=True)
        if not self._repo.index.diff("HEAD"):
            return None
        commit = self._repo.index.commit(message, author=AUTHOR, committer=AUTHOR)
        return str(commit.hexsha)

    def last_diff(self) -> str:
        return str(self._repo.git.show("--format=", "--no-color", "HEAD"))

    def push(self, *, branch: str | None = None) -> None:
        """Push HEAD to the clone's branch, or to ``branch`` (a new one: a pull request's)."""
        branch = check_ref(branch, what="branch") if branch else self._branch
        with timed("git push"):
            infos = self._repo.remote("origin").push(f"HEAD:refs/heads/{branch}")
        for info in infos:
            if info.flags & (git.PushInfo.REJECTED | git.PushInfo.REMOTE_FAILURE):
                raise PushRejected(f"push to {branch} was rejected: the remote moved on")
            if info.flags & git.PushInfo.ERROR:
                raise ToolFailed(f"git push to {branch} failed: {info.summary.strip()}")
        if not infos or infos.error is not None:
            raise ToolFailed(f"git push to {branch} failed: {infos.error}")


@dataclass(frozen=True)
class CheckedOut:
    commit: str
    branch: str | None  # the branch the commit was taken from, when known
    commit_time: int  # committer time, seconds since the epoch


_URL = re.compile(r"^(?:https?|ssh|git|file)://[^\s]+$|^[\w.-]+@[\w.-]+:[^\s]+$")
_NOT_A_REPO = (
    "does not appear to be a git repository",
    "does not exist",
    "not found",
    "could not read username",
    "authentication failed",
    "not a git repository",
)


def check_remote(remote: str) -> str:
    """A repository URL or an existing local folder; anything else is a usage error."""
    if remote.startswith("-"):
        raise UsageError(f"repository {remote!r} starts with '-'", hint="pass a URL or a path")
    if _URL.match(remote):
        return remote
    if not Path(remote).is_dir():
        raise UsageError(
            f"repository {remote!r} is neither a URL nor an existing folder",
            hint="pass an http(s)://, ssh://, git:// or file:// URL, user@host:path, "
            "or the path of a Git repository",
        )
    return remote


def _git(repo: git.Repo, *args: str) -> str:
    return str(repo.git.execute(["git", *args], with_extended_output=False))


def _resolve(repo: git.Repo, ref: str) -> tuple[str, str | None]:
    """The commit ``ref`` names in a fresh clone, and the branch when it names one."""
    branch = ref.removeprefix("refs/heads/")
    candidates = [(f"refs/remotes/origin/{branch}", branch), (f"refs/tags/{ref}", None)]
    if ref.startswith("refs/tags/"):
        candidates = [(ref, None)]
    if COMMIT_ID.match(ref):
        candidates.append((ref, None))
    for candidate, names_branch in candidates:
        try:
            sha = _git(
                repo,
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"{candidate}^{{commit}}",
            )
        except git.exc.GitCommandError:
            continue
        return sha.strip(), names_branch
    raise UsageError(
        f"the repository has no branch, tag or commit {ref!r}",
        hint="pass a branch, tag or commit that exists",
    )


def checkout_commit(remote: str, dest: Path, ref: str, *, branch: str | None) -> CheckedOut:
    """Clone ``remote`` into ``dest`` with ``ref`` checked out (detached). ``branch``, when
    given, is the branch the commit was pushed to: the commit must be on it."""
    check_remote(remote)
    check_ref(ref)
    if branch is not None:
        check_ref(branch, what="branch")
    try:
        with timed("git clone"):
            repo = git.Repo.clone_from(remote, dest, no_checkout=True)
    except git.exc.GitCommandError as e:
        stderr = str(e.stderr).strip()
        if any(marker in stderr.lower() for marker in _NOT_A_REPO):
            raise UsageError(
                f"cannot clone {remote}: {stderr}", hint="check --repo: it must be a Git repository"
            ) from e
        raise ToolFailed(f"cannot clone {remote}: {stderr}", transient=True) from e
    try:
        commit, named = _resolve(repo, ref)
        if branch is not None and branch != named:
            if not _is_ancestor(repo, commit, f"refs/remotes/origin/{branch}"):
                raise UsageError(
                    f"commit {commit[:12]} is not on branch {branch!r} of {remote}",
                    hint="pass the branch the commit was pushed to, or leave --branch out",
                )
            named = branch
        _git(repo, "checkout", "--quiet", "--detach", commit)
        when = int(_git(repo, "show", "-s", "--format=%ct", commit).strip())
    finally:
        repo.close()
    return CheckedOut(commit=commit, branch=named, commit_time=when)


def default_branch_file(checkout: Path, path: str) -> tuple[str, str | None]:
    """The remote's default branch (what its HEAD names) and the text of ``path`` at its
    tip, or None when the file is not there."""
    repo = git.Repo(checkout)
    try:
        try:
            head = _git(repo, "symbolic-ref", "--short", "refs/remotes/origin/HEAD").strip()
        except git.exc.GitCommandError as e:
            raise UsageError(
                "the repository names no default branch (its HEAD)",
                hint="set the repository's HEAD to its default branch",
            ) from e
        try:
            text = _git(repo, "show", "--end-of-options", f"{head}:{path}")
        except git.exc.GitCommandError:
            return head.removeprefix("origin/"), None
        return head.removeprefix("origin/"), text
    finally:
        repo.close()


def _is_ancestor(repo: git.Repo, older: str, newer: str) -> bool:
    try:
        _git(repo, "merge-base", "--is-ancestor", older, newer)
    except git.exc.GitCommandError:
        return False
    return True


def _fetch(repo: git.Repo) -> None:
    try:
        with timed("git fetch"):
            _git(repo, "fetch", "--quiet", "origin")
    except git.exc.GitCommandError as e:  # the remote away, or a concurrent fetch's lock
        raise ToolFailed(
            f"git fetch in {repo.working_dir} failed: {str(e.stderr).strip()}", transient=True
        ) from e


def relation(checkout: Path, older: str, newer: str) -> Relation:
    """How commit ``older`` relates to ``newer`` in ``checkout``: "same", "ancestor" (older
    is an ancestor of newer), "descendant", or "unrelated" (neither, or unknown here even
    after fetching every branch)."""
    if older == newer:
        return "same"
    repo = git.Repo(checkout)
    try:
        for attempt in range(2):
            try:
                for sha in (older, newer):
                    _git(repo, "cat-file", "-e", f"{sha}^{{commit}}")
            except git.exc.GitCommandError:
                if attempt == 0:
                    _fetch(repo)
                    continue
                return "unrelated"
            break
        if _is_ancestor(repo, older, newer):
            return "ancestor"
        if _is_ancestor(repo, newer, older):
            return "descendant"
        return "unrelated"
    finally:
        repo.close()


def folder_diff(checkout: Path, older: str, newer: str, folder: str) -> str | None:
    """The unified diff of ``folder`` from commit ``older`` to ``newer``, its paths
    relative to the folder; None when ``older`` is not in the checkout's history even after
    fetching. Git alone computes it: no diff driver or text conversion the repository's
    attributes name runs, and renamed files count as added (their lines are all new)."""
    for sha in (older, newer):
        if not COMMIT_ID.match(sha):
            raise UsageError(f"{sha!r} is not a commit id")
    relative = [] if folder in ("", ".") else [f"--relative={folder.rstrip('/')}/"]
    repo = git.Repo(checkout)
    try:
        for attempt in range(2):
            try:
                _git(repo, "cat-file", "-e", f"{older}^{{commit}}")
            except git.exc.GitCommandError:
                if attempt == 0:
                    _fetch(repo)
                    continue
                return None
            break
        try:
            diff = repo.git.execute(
                [
                    "git",
                    "-c",
                    "core.quotePath=false",
                    "diff",
                    "--no-color",
                    "--no-ext-diff",
                    "--no-textconv",
                    "--no-renames",
                    *relative,
                    older,
                    newer,
                    "--",
                    folder or ".",
                ],
                with_extended_output=False,
                strip_newline_in_stdout=False,
            )
        except git.exc.GitCommandError as e:
            raise ToolFailed(
                f"git diff {older[:12]}..{newer[:12]} -- {folder} failed: {str(e.stderr).strip()}"
            ) from e
        return str(diff)
    finally:
        repo.close()


def fork_point(checkout: Path, commit: str) -> str | None:
    """The commit where ``commit``'s history left the default branch (what its HEAD names):
    their merge base. None when ``commit`` is on the default branch, or shares no history
    with it."""
    repo = git.Repo(checkout)
    try:
        try:
            head = _git(repo, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").strip()
            base = _git(repo, "merge-base", "--end-of-options", commit, head).strip()
        except git.exc.GitCommandError:
            return None
    finally:
        repo.close()
    return base if COMMIT_ID.match(base) and base != commit else None


class GitHistory:
    """The history of a source checkout (the ``SourceHistory`` role)."""

    def __init__(self, checkout: Path) -> None:
        self._checkout = checkout

    def relation(self, older: str, newer: str) -> Relation:
        return relation(self._checkout, older, newer)

    def default_branch_file(self, path: str) -> tuple[str, str | None]:
        return default_branch_file(self._checkout, path)

    def folder_diff(self, older: str, newer: str, folder: str) -> str | None:
        return folder_diff(self._checkout, older, newer, folder)

    def fork_point(self, commit: str) -> str | None:
        return fork_point(self._checkout, commit)


def current_branch(checkout: Path) -> str | None:
    """The branch checked out in the working tree at ``checkout``; None when it is not a
    git working tree or its HEAD is detached."""
    try:
        repo = git.Repo(checkout)
        return None if repo.head.is_detached else str(repo.active_branch.name)
    except (git.exc.GitError, TypeError, ValueError):
        return None
