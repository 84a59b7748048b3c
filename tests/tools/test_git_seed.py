from __future__ import annotations

from pathlib import Path

import git

from seamline.adapters.git_repo import head_of, seed_bare_remote


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
