"""The CI run with SEAMLINE_IMAGE_BUILDER=buildkit on the real stack: it releases the
Bookstore with BuildKit's reproducible builds, and a fresh clone of the released commit,
rebuilt by a buildkitd with an empty cache, gives every committed digest again."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
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

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"


@pytest.fixture(scope="module")
def buildkit(stack_up: dict[str, Any], settings: Settings) -> Iterator[Settings]:
    """The stack's buildkitd, started for this module (the shared stack builds with
    Docker), and stopped after it."""
    chosen = settings.model_copy(update={"image_builder": "buildkit", "buildkit_host": ""})
    service = BuildkitService(chosen)
    service.up()
    try:
        yield chosen
    finally:
        service.down()


def _rebuild_from_fresh_clone(
    settings: Settings, remote: Path, commit: str, folder: Path
) -> dict[str, str]:
    """Every service of ``commit``, built from a new clone by a buildkitd with nothing
    cached, with the labels and build args the CI run uses: each service's digest."""
    service = BuildkitService(settings)
    service.down()
    shutil.rmtree(settings.local_buildkit_dir / "root", ignore_errors=True)
    service.up()
    clone = git.Repo.clone_from(str(remote), folder)
    clone.git.checkout(commit)
    committed = clone.head.commit.committed_date
    config = load_pipeline_config(folder)
    builder = BuildKit(
        buildctl=settings.tools_dir / "buildctl",
        address=settings.buildkit_address(),
        registry=RegistryClient.for_url(settings.registry_url),
        registry_host=settings.registry,
    )
    digests: dict[str, str] = {}
    try:
        for spec in config.services:
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
            )
    finally:
        builder.close()
    return digests


def test_buildkit_release_is_rebuilt_to_the_same_digests(
    buildkit: Settings, tmp_path: Path
) -> None:
    remote = tmp_path / "bookstore.git"
    commit = seed_bare_remote(BOOKSTORE, remote, branch="main", message="Seed Bookstore")
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote), SEAMLINE_IMAGE_BUILDER="buildkit")
    result = seamline("run", "--repo", str(remote), "--json", "--local", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["state"] == "Completed" and report["errors"] == []
    released = {s["name"]: s["digest"] for s in report["services"]}
    assert all(s["signed"] and s["gate"] == "passed" for s in report["services"])

    rebuilt = _rebuild_from_fresh_clone(buildkit, remote, commit, tmp_path / "clone")
    assert rebuilt == released
