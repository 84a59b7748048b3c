from __future__ import annotations

from pathlib import Path

import git
import pytest

from seamline.adapters.git_repo import GitRemote, head_of, seed_bare_remote
from seamline.errors import UsageError


def test_seed_bare_remote(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "kustomize").mkdir(parents=True)
    (source / "kustomize" / "kustomization.yaml").write_text("resources: []\n")
    (source / "seamline.toml").write_text("[pipeline]\n")
    bare = tmp_path / "remote.git"
    sha = seed_bare_remote(source, bare, branch="main", message="Seed")
    assert head_of(bare, "main") == sha
    clone = git.Repo.clone_from(str(bare), tmp_path / "clone")
    assert (tmp_path / "clone" / "kustomize" / "kustomization.yaml").read_text() == (
        "resources: []\n"
    )
    assert clone.head.commit.author.name == "seamline"


def test_head_of_missing_repo(tmp_path: Path) -> None:
    assert head_of(tmp_path / "nothing.git", "main") is None


def test_a_clone_pushes_to_a_new_branch_and_leaves_its_own_alone(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "pins.txt").write_text("dev\n")
    bare = tmp_path / "remote.git"
    seeded = seed_bare_remote(source, bare, branch="main", message="Seed")
    work = GitRemote(url=str(bare), branch="main").clone(tmp_path / "work")
    (work.path / "pins.txt").write_text("staging\n")
    sha = work.commit_all("promote")
    assert sha is not None
    work.push(branch="seamline/promote-dev-to-staging-" + sha[:12])
    assert head_of(bare, "main") == seeded
    assert head_of(bare, "seamline/promote-dev-to-staging-" + sha[:12]) == sha
    with pytest.raises(UsageError):
        work.push(branch="bad..branch")
