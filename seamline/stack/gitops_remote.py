"""The GitOps remote: a bare Git repository seeded from the example Bookstore."""

from __future__ import annotations

from pathlib import Path

from seamline.adapters.git_repo import head_of, seed_bare_remote
from seamline.config.settings import Settings
from seamline.errors import StateCorrupt, UsageError
from seamline.stack.model import ComponentStatus

BRANCH = "main"


class GitopsRemote:
    name = "gitops-remote"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.path: Path = settings.local_gitops_remote

    def status(self) -> ComponentStatus:
        head = head_of(self.path, BRANCH)
        if head is None:
            return ComponentStatus(
                self.name, False, f"{self.path} has no {BRANCH} branch", "run `seamline stack up`"
            )
        return ComponentStatus(self.name, True, f"{self.path} ({BRANCH} at {head[:12]})")

    def up(self) -> None:
        if head_of(self.path, BRANCH) is not None:
            return
        if self.path.exists() and any(self.path.iterdir()):
            raise StateCorrupt(
                f"{self.path} exists but is not a Git repository with a {BRANCH} branch",
                hint="move it away (or `seamline stack down --purge`) and run `stack up` again",
            )
        source = self._settings.example_repo
        if not (source / "seamline.toml").is_file():
            raise UsageError(
                f"{source} holds no seamline.toml to seed the GitOps remote from",
                hint="set SEAMLINE_EXAMPLE_REPO to a repository with a seamline.toml",
            )
        seed_bare_remote(source, self.path, branch=BRANCH, message="Seed Bookstore")

    def down(self) -> None:
        """Nothing runs."""
