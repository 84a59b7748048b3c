"""`seamline verify-rebuild` on the real stack: the Bookstore released by a CI run with
BuildKit (the default builder), the catalog's committed digest is rebuilt from its
verified provenance (a fresh clone of the recorded commit, the recorded build inputs, a
buildkitd with nothing cached) and reported identical; a digest the Docker builder made
is refused with the setting that fixes it."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import httpx

from seamline.adapters.git_repo import seed_bare_remote
from seamline.config.project import PROJECT_ROOT
from seamline.config.settings import Settings
from tests.integration.conftest import seamline
from tests.integration.test_buildkit_builder import (  # noqa: F401 - fixture
    buildkit,
    fresh_buildkitd,
)

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"


def test_a_buildkit_release_verifies_as_identical(
    buildkit: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Content of its own: an image cached from another test's build would carry that
    # build's commit (in its labels and provenance), whose clone may be gone.
    tree = tmp_path / "bookstore"
    shutil.copytree(BOOKSTORE, tree)
    (tree / "app" / "catalog" / "rebuild_nonce.go").write_text(
        f"package main\n\n// verify-rebuild test {uuid.uuid4()}\n"
    )
    remote = tmp_path / "bookstore.git"
    commit = seed_bare_remote(tree, remote, branch="main", message="Seed Bookstore")
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote), SEAMLINE_IMAGE_BUILDER="buildkit")
    result = seamline("run", "--repo", str(remote), "--json", "--local", env=env)
    assert result.returncode == 0, result.stderr
    services = {s["name"]: s for s in json.loads(result.stdout)["services"]}
    catalog = f"{services['catalog']['image']}@{services['catalog']['digest']}"

    repository = services["catalog"]["image"].removeprefix(buildkit.registry + "/")
    tags_url = f"{buildkit.registry_url}/v2/{repository}/tags/list"
    tags_before = set(httpx.get(tags_url, timeout=10).json()["tags"])
    # a buildkitd with an empty cache: the rebuild shares nothing with the CI build
    with fresh_buildkitd(buildkit) as fresh:
        verified = seamline(
            "verify-rebuild",
            catalog,
            "--json",
            env=dict(env, SEAMLINE_BUILDKIT_HOST=fresh.buildkit_host),
        )
    assert verified.returncode == 0, verified.stderr
    answer = json.loads(verified.stdout)
    assert answer["identical"] is True
    assert answer["recordedDigest"] == answer["rebuiltDigest"] == services["catalog"]["digest"]
    assert answer["layers"] == []
    assert "identical" in verified.stderr
    assert commit[:12] in verified.stderr

    # The rebuild went to an OCI layout folder: the registry holds no new tag.
    assert set(httpx.get(tags_url, timeout=10).json()["tags"]) == tags_before

    tag = seamline("verify-rebuild", f"{services['catalog']['image']}:latest", env=env)
    assert tag.returncode == 2


def test_a_docker_build_is_refused_with_the_builder_setting(tmp_path: Path) -> None:
    remote = tmp_path / "bookstore.git"
    seed_bare_remote(BOOKSTORE, remote, branch="main", message="Seed Bookstore")
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote), SEAMLINE_IMAGE_BUILDER="docker")
    result = seamline("run", "--repo", str(remote), "--json", "--local", env=env)
    assert result.returncode == 0, result.stderr
    service = json.loads(result.stdout)["services"][0]
    refused = seamline("verify-rebuild", f"{service['image']}@{service['digest']}", env=env)
    assert refused.returncode == 1
    assert "not built by BuildKit" in refused.stderr
    assert "SEAMLINE_IMAGE_BUILDER=buildkit" in refused.stderr
