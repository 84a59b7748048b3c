"""The CI run with BuildKit (the default builder) on the real stack: it releases the
Bookstore with BuildKit's reproducible builds, and a fresh clone of the released commit,
rebuilt by a buildkitd with an empty cache, gives every committed digest again."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import git
import pytest

from seamline.adapters.buildkit import BuildKit
from seamline.adapters.git_repo import seed_bare_remote
from seamline.adapters.registry import RegistryClient
from seamline.adapters.toolbox import Toolbox
from seamline.config.pipeline import load_pipeline_config
from seamline.config.project import PROJECT_ROOT
from seamline.config.settings import Settings
from seamline.stack.buildkit_service import BuildkitService
from tests.integration.conftest import seamline
from tests.integration.test_trust_boundaries import commit_change

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"


@pytest.fixture(scope="module")
def buildkit(stack_up: dict[str, Any], settings: Settings) -> Iterator[Settings]:
    """The stack's buildkitd (`stack up` starts it: BuildKit is the default builder); a
    session run with SEAMLINE_IMAGE_BUILDER=docker gets it started for this module and
    stopped after it."""
    chosen = settings.model_copy(update={"image_builder": "buildkit", "buildkit_host": ""})
    service = BuildkitService(chosen)
    ours = settings.image_builder != "buildkit"
    service.up()
    try:
        yield chosen
    finally:
        if ours:
            service.down()


@contextmanager
def fresh_buildkitd(settings: Settings) -> Iterator[Settings]:
    """A buildkitd of its own with nothing cached, beside the stack's (whose cache the
    other tests keep): the settings that build with it (``buildkit_host``)."""
    folder = Path(tempfile.mkdtemp(prefix="sl-bk-", dir="/tmp"))  # short: a socket path
    # no build network of its own: what builds with it (buildkit_host) asks for none
    own = settings.model_copy(
        update={
            "image_builder": "buildkit",
            "buildkit_host": "",
            "state_dir": folder,
            "goproxy": False,
        }
    )
    service = BuildkitService(own)
    service.up()
    try:
        yield settings.model_copy(
            update={"image_builder": "buildkit", "buildkit_host": own.buildkit_address()}
        )
    finally:
        service.down()
        shutil.rmtree(folder, ignore_errors=True)


def unique_tree(source: Path, folder: Path) -> Path:
    """A copy of ``source`` with a new Go file in every service's package: a tree, and
    binaries (their Go build ids), no other run built."""
    shutil.copytree(source, folder)
    config = load_pipeline_config(folder)
    nonce = uuid.uuid4()
    for spec in config.services:
        (config.context_of(spec) / "release_nonce.go").write_text(
            f"package main\n\n// release nonce {nonce}\n"
        )
    return folder


def _rebuild_from_fresh_clone(
    settings: Settings, remote: Path, commit: str, folder: Path, only: str = ""
) -> dict[str, str]:
    """Every service of ``commit`` (or the service ``only``), built from a new clone by a
    buildkitd with nothing cached, with the labels and build args the CI run uses: each
    service's digest. The images go to OCI layout folders: the registry gets nothing new."""
    clone = git.Repo.clone_from(str(remote), folder / "clone")
    clone.git.checkout(commit)
    committed = clone.head.commit.committed_date
    config = load_pipeline_config(folder / "clone")
    digests: dict[str, str] = {}
    with fresh_buildkitd(settings) as fresh:
        builder = BuildKit(
            buildctl=fresh.tools_dir / "buildctl",
            address=fresh.buildkit_address(),
            registry=RegistryClient.for_url(fresh.registry_url),
            registry_host=fresh.registry,
        )
        try:
            for spec in config.services:
                if only and spec.name != only:
                    continue
                digests[spec.name] = builder.build(
                    context=config.context_of(spec),
                    dockerfile=str(config.dockerfile_of(spec)),
                    tag=f"{config.target_repository(spec)}:rebuild-{commit[:12]}",
                    build_args=Toolbox(settings).base_images(),
                    labels={
                        "org.opencontainers.image.source": str(remote),
                        "org.opencontainers.image.revision": commit,
                        "org.opencontainers.image.created": datetime.fromtimestamp(
                            committed, UTC
                        ).isoformat(timespec="seconds"),
                        "org.opencontainers.image.title": spec.name,
                    },
                    source_date_epoch=committed,
                    layout=folder / "layouts" / spec.name,
                )
        finally:
            builder.close()
    return digests


def test_buildkit_release_is_rebuilt_to_the_same_digests(
    buildkit: Settings, tmp_path: Path
) -> None:
    remote = tmp_path / "bookstore.git"
    tree = unique_tree(BOOKSTORE, tmp_path / "bookstore")
    commit = seed_bare_remote(tree, remote, branch="main", message="Seed Bookstore")
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote), SEAMLINE_IMAGE_BUILDER="buildkit")
    result = seamline("run", "--repo", str(remote), "--json", "--local", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["state"] == "Completed" and report["errors"] == []
    released = {s["name"]: s["digest"] for s in report["services"]}
    assert all(s["signed"] and s["gate"] == "passed" for s in report["services"])

    rebuilt = _rebuild_from_fresh_clone(buildkit, remote, commit, tmp_path / "rebuild")
    assert rebuilt == released

    # A later commit whose storefront binary is the one just built (a text file changed):
    # the release must not carry the earlier build's file times from BuildKit's cache.
    later = commit_change(remote, tmp_path, "app/storefront/CHANGES.txt", "notes\n")
    result = seamline("run", "--repo", str(remote), "--json", "--local", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["state"] == "Completed" and report["errors"] == []
    storefront = next(s for s in report["services"] if s["name"] == "storefront")
    assert not storefront["cached"] and storefront["digest"] != released["storefront"]
    rebuilt = _rebuild_from_fresh_clone(
        buildkit, remote, later, tmp_path / "rebuild-later", only="storefront"
    )
    assert rebuilt == {"storefront": storefront["digest"]}
