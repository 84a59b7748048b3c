"""`seamline promote` end to end on the real stack: a CI run releases the Bookstore into
dev, then the very same digests move into staging by a Git commit, with nothing rebuilt or
pushed to the registry."""

from __future__ import annotations

import json
import os
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
    return dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))


def _json(remote: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = seamline(*args, env=_env(remote))
    assert result.stdout.count("\n{") == 0, "exactly one JSON object on stdout"
    return result.returncode, json.loads(result.stdout), result.stderr


def _images(remote: Path, overlay: str) -> dict[str, str]:
    """The ``images:`` entries of ``overlay`` at the remote's head, as written."""
    blob = git.Repo(remote).commit("main").tree / f"kustomize/overlays/{overlay}/kustomization.yaml"
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
