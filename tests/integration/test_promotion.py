"""`seamline promote` end to end on the real stack: a CI run releases the Bookstore into
dev, then the very same digests move into staging by a Git commit (or, with ``--pr``, a
branch and the pull request seamline would open), with nothing rebuilt or pushed to the
registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import git
import httpx
import pytest
import yaml

from seamline.adapters.git_repo import seed_bare_remote
from seamline.adapters.registry import RegistryClient
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.tools.pins import locate
from tests.integration.conftest import seamline

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
CHECKS = ["signature", "sbom-attestation", "provenance-attestation", "scan-gate", "rescan-block"]


def _env(remote: Path) -> dict[str, str]:
    # No forge: the local stack's remote is a bare repository, so --pr reports its PR.
    return dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote), SEAMLINE_FORGE_REPOSITORY="")


def _json(remote: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = seamline(*args, env=_env(remote))
    assert result.stdout.count("\n{") == 0, "exactly one JSON object on stdout"
    return result.returncode, json.loads(result.stdout), result.stderr


def _images(remote: Path, overlay: str, ref: str = "main") -> dict[str, str]:
    """The ``images:`` entries of ``overlay`` at ``ref`` of the remote, as written."""
    blob = git.Repo(remote).commit(ref).tree / f"kustomize/overlays/{overlay}/kustomization.yaml"
    data = yaml.safe_load(blob.data_stream.read())
    return {
        e["name"]: f"{e['newName']}@{e['digest']}" if e.get("digest") else e["newName"]
        for e in data["images"]
    }


def _registry(settings: Settings, repositories: list[str]) -> dict[tuple[str, str], str | None]:
    """Every tag of ``repositories`` and the manifest digest it names."""
    held: dict[tuple[str, str], str | None] = {}
    client = RegistryClient.for_url(settings.registry_url)
    try:
        for repository in repositories:
            listed = httpx.get(f"{settings.registry_url}/v2/{repository}/tags/list", timeout=30)
            listed.raise_for_status()
            for tag in listed.json().get("tags") or []:
                held[(repository, tag)] = client.manifest_digest(repository, tag)
    finally:
        client.close()
    return held


@pytest.fixture(scope="module")
def released(stack_up: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh GitOps remote whose dev overlay a CI run has released into."""
    remote = tmp_path_factory.mktemp("promote") / "bookstore.git"
    seed_bare_remote(BOOKSTORE, remote, branch="main", message="Seed Bookstore")
    code, report, stderr = _json(remote, "run", "--repo", str(remote), "--json")
    assert code == 0, stderr
    assert report["overlay"] == "dev" and report["commit"]
    return remote


def test_promote_moves_the_same_digests_by_a_commit_and_nothing_else(
    released: Path, settings: Settings, tmp_path: Path
) -> None:
    dev = _images(released, "dev")
    assert all("@sha256:" in ref for ref in dev.values())
    repositories = sorted({ref.partition("@")[0].partition("/")[2] for ref in dev.values()})
    registry_before = _registry(settings, repositories)
    head_before = git.Repo(released).commit("main").hexsha

    code, report, stderr = _json(released, "promote", "--from", "dev", "--to", "staging", "--json")
    assert code == 0, stderr
    assert report["state"] == "Completed" and report["errors"] == []
    assert (report["source"], report["target"]) == ("dev", "staging")
    head = git.Repo(released).commit("main")
    assert report["commit"] == head.hexsha and head.parents[0].hexsha == head_before
    assert {i["name"]: i["reference"] for i in report["images"]} == dev
    for image in report["images"]:
        assert image["checks"] == CHECKS
        assert f"{image['name']}: {image['reference']}" in str(head.message)
    assert f"Source: overlay dev @ {head_before}" in str(head.message)

    staging = _images(released, "staging")
    assert staging == dev  # byte-equal name@digest
    clone = tmp_path / "clone"
    git.Repo.clone_from(str(released), clone)
    rendered = subprocess.run(
        [
            str(locate("kustomize", settings.tools_dir)),
            "build",
            str(clone / "kustomize" / "overlays" / "staging"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for reference in dev.values():
        assert f"image: {reference}" in rendered
    pins = json.loads((clone / "kustomize/overlays/staging/seamline-pins.json").read_text())
    dev_pins = json.loads((clone / "kustomize/overlays/dev/seamline-pins.json").read_text())
    assert pins["images"] == dev_pins["images"]  # the build each image came from
    assert _registry(settings, repositories) == registry_before  # nothing built or pushed

    code, again, stderr = _json(released, "promote", "--from", "dev", "--to", "staging", "--json")
    assert code == 0, stderr
    assert again["commit"] is None and again["images"] == []
    assert git.Repo(released).commit("main").hexsha == head.hexsha


def test_promoting_backwards_is_a_usage_error(released: Path) -> None:
    head = git.Repo(released).commit("main").hexsha
    code, report, stderr = _json(released, "promote", "--from", "staging", "--to", "dev", "--json")
    assert code == 2, stderr
    assert report["commit"] is None
    assert "staging -> dev is not allowed" in report["errors"][0]["error"]
    assert git.Repo(released).commit("main").hexsha == head


def _as_released(released: Path, dest: Path) -> Path:
    """A copy of the released remote whose main is back at the CI release (before any
    promotion another test committed)."""
    shutil.copytree(released, dest)
    repo = git.Repo(dest)
    release = next(
        c for c in repo.iter_commits("main") if not str(c.message).startswith("seamline: promote")
    )
    repo.git.update_ref("refs/heads/main", release.hexsha)
    return dest


def test_promote_pr_pushes_a_branch_and_reports_the_pull_request_it_would_open(
    released: Path, settings: Settings, tmp_path: Path
) -> None:
    remote = _as_released(released, tmp_path / "bookstore.git")
    dev = _images(remote, "dev")
    staging_before = _images(remote, "staging")
    assert staging_before != dev
    repositories = sorted({ref.partition("@")[0].partition("/")[2] for ref in dev.values()})
    registry_before = _registry(settings, repositories)
    head_before = git.Repo(remote).commit("main").hexsha

    code, report, stderr = _json(
        remote, "promote", "--from", "dev", "--to", "staging", "--pr", "--json"
    )
    assert code == 0, stderr
    assert report["state"] == "Completed" and report["errors"] == []
    commit = report["commit"]
    branch = f"seamline/promote-dev-to-staging-{commit[:12]}"
    assert report["branch"] == branch

    repo = git.Repo(remote)
    assert repo.commit("main").hexsha == head_before  # the default branch is unchanged
    assert _images(remote, "staging") == staging_before
    pushed = repo.commit(branch)
    assert pushed.hexsha == commit and pushed.parents[0].hexsha == head_before
    assert _images(remote, "staging", branch) == dev  # byte-equal name@digest
    for image in report["images"]:
        assert image["checks"] == CHECKS
        assert f"{image['name']}: {image['reference']}" in str(pushed.message)

    pull = report["pull_request"]
    assert pull["opened"] is False and pull["url"] is None and pull["number"] is None
    assert (pull["title"], pull["head"], pull["base"]) == (
        "seamline: promote dev -> staging",
        branch,
        "main",
    )
    for reference in dev.values():
        assert f"`{reference}` | {', '.join(CHECKS)} |" in pull["body"]
    assert f"Source: overlay `dev` @ `{head_before}`" in pull["body"]
    assert "no forge configured" in stderr and branch in stderr

    clone = tmp_path / "clone"
    git.Repo.clone_from(str(remote), clone, branch=branch)
    rendered = subprocess.run(
        [
            str(locate("kustomize", settings.tools_dir)),
            "build",
            str(clone / "kustomize" / "overlays" / "staging"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for reference in dev.values():
        assert f"image: {reference}" in rendered
    assert _registry(settings, repositories) == registry_before  # nothing built or pushed
