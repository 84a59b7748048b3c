"""`seamline promote` and `seamline rescan` on the real stack go through their deployments
(``seamline-promote/promote``, ``seamline-rescan/nightly``): an executor runs the flow on
the GitOps remote the command names, and the command prints, byte for byte, the outcome the
run published on itself. With ``--local`` the same command runs in its own process and
reports alike."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import git
import pytest

from seamline.adapters.git_repo import seed_bare_remote
from seamline.config.settings import PROJECT_ROOT, Settings
from tests.integration.conftest import deployment_id, flow_run, published_outcome, seamline

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"


def _env(remote: Path) -> dict[str, str]:
    return dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote), SEAMLINE_FORGE_REPOSITORY="")


def _command(remote: Path, *args: str) -> tuple[int, str, str]:
    result = seamline(*args, "--json", env=_env(remote))
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def released(stack_up: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh GitOps remote whose dev overlay a CI run has released into."""
    remote = tmp_path_factory.mktemp("cd-executors") / "bookstore.git"
    seed_bare_remote(BOOKSTORE, remote, branch="main", message="Seed Bookstore")
    code, stdout, stderr = _command(remote, "run", "--repo", str(remote))
    assert code == 0, stderr
    assert json.loads(stdout)["overlay"] == "dev"
    return remote


def _through_deployment(
    settings: Settings, stdout: str, stderr: str, deployment: tuple[str, str], remote: Path
) -> dict[str, Any]:
    """The printed document, once checked to be the outcome its deployment run published."""
    report: dict[str, Any] = json.loads(stdout)
    run = flow_run(settings, report["flow_run_id"])
    assert run["deployment_id"] == deployment_id(settings, *deployment)
    assert run["parameters"]["gitops"] == str(remote)  # the remote the command named
    assert f"on {'/'.join(deployment)}" in stderr
    assert stdout == published_outcome(settings, run["id"]).to_json()  # byte for byte
    return report


def test_promote_runs_on_its_deployment_and_prints_the_runs_outcome(
    released: Path, settings: Settings
) -> None:
    code, stdout, stderr = _command(released, "promote", "--from", "dev", "--to", "staging")
    assert code == 0, stderr
    report = _through_deployment(
        settings, stdout, stderr, ("seamline-promote", "promote"), released
    )
    assert report["state"] == "Completed" and report["errors"] == []
    assert report["commit"] == git.Repo(released).commit("main").hexsha
    assert "seamline-promote" in flow_run(settings, report["flow_run_id"])["tags"]

    # refused on the executor: the flow's own usage error, exit 2, published as printed
    code, stdout, stderr = _command(released, "promote", "--from", "staging", "--to", "dev")
    assert code == 2, stderr
    refused = _through_deployment(
        settings, stdout, stderr, ("seamline-promote", "promote"), released
    )
    assert "staging -> dev is not allowed" in refused["errors"][0]["error"]

    # the same command in-process: no deployment, the same document's shape
    code, stdout, stderr = _command(
        released, "promote", "--from", "dev", "--to", "staging", "--local"
    )
    assert code == 0, stderr
    local = json.loads(stdout)
    assert flow_run(settings, local["flow_run_id"])["deployment_id"] is None
    assert "promote dev -> staging, in this process" in stderr
    assert local.keys() == report.keys() and local["commit"] is None  # already promoted
    assert stdout == published_outcome(settings, local["flow_run_id"]).to_json()


def test_rescan_runs_on_its_deployment_and_prints_the_runs_outcome(
    released: Path, settings: Settings
) -> None:
    code, stdout, stderr = _command(released, "rescan")
    assert code == 0, stderr
    report = _through_deployment(settings, stdout, stderr, ("seamline-rescan", "nightly"), released)
    assert report["state"] == "Completed" and report["errors"] == []
    assert report["digests"] and not any(d["blocked"] for d in report["digests"])

    code, stdout, stderr = _command(released, "rescan", "--local")
    assert code == 0, stderr
    local = json.loads(stdout)
    assert flow_run(settings, local["flow_run_id"])["deployment_id"] is None
    assert "re-scan of every pinned digest, in this process" in stderr
    assert stdout == published_outcome(settings, local["flow_run_id"]).to_json()
    assert [(d["reference"], d["overlays"], d["gate"]) for d in local["digests"]] == [
        (d["reference"], d["overlays"], d["gate"]) for d in report["digests"]
    ]
