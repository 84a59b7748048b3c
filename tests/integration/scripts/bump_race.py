"""Runs the bump task in a flow against REMOTE while another writer pushes to the same
branch between seamline's clone and its push; prints the BumpResult as JSON.

    python bump_race.py REMOTE
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import git
from prefect import flow

import tasks.bump as bump
from seamline.adapters.git_repo import AUTHOR, GitClone
from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.policy.bump_precondition import ServiceOutcome
from seamline.run.inputs import RunInputs
from seamline.run.results import Workspace
from tasks.context import RunContext

REMOTE = sys.argv[1]
BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
real_commit_all = GitClone.commit_all
raced: list[str] = []


def commit_after_a_rival(clone: GitClone, message: str) -> str | None:
    """The first time only: someone else lands a commit on the remote first."""
    if not raced:
        rival = git.Repo.clone_from(REMOTE, clone.path.parent / "rival")
        (Path(rival.working_dir) / "RIVAL.md").write_text("another writer\n")
        rival.git.add(A=True)
        rival.index.commit("rival commit", author=AUTHOR, committer=AUTHOR)
        rival.remote("origin").push("HEAD:refs/heads/main").raise_if_error()
        raced.append(rival.head.commit.hexsha)
    return real_commit_all(clone, message)


GitClone.commit_all = commit_after_a_rival  # type: ignore[method-assign]


@flow(name="seamline-bump-race-check")
def race() -> dict[str, object]:
    settings = Settings(gitops_remote=REMOTE)
    config = load_pipeline_config(BOOKSTORE)
    ctx = RunContext(
        settings=settings,
        workspace=Workspace(str(BOOKSTORE), REMOTE, "0" * 40),
        config=config,
        event="push",
        overlay="dev",
        inputs=RunInputs(
            tool_versions={},
            sources={},
            dockerfiles={},
            checks={},
            build_args={},
            base_images={},
            trivy_db="",
            gate="",
            today="2026-01-01",
            trust="trusted",
        ),
        flow_run_id="race",
        flow_run_url="http://127.0.0.1/runs/race",
    )
    digest = "sha256:" + "ab" * 32
    outcomes = [
        ServiceOutcome(s.name, s.image, config.target_repository(s), digest)
        for s in config.services
    ]
    result = bump.bump_overlay(ctx, outcomes)
    return {**asdict(result), "rival": raced[0]}


print(json.dumps(race()))
