"""A repository no one wrote for seamline, end to end on the real stack: the wild-repo
fixture (a Go module per service, upstream FROM lines pinned by digest, `RUN go mod
download`, a BuildKit-only Dockerfile, images named with a host and tag in the base
manifests and in a component, long-standing lint and vet findings) goes through
`seamline init`, the minimal edits a reviewer makes, and a green CI run with BuildKit,
offline except for the Go module proxy; then a new lint finding in one service fails the
next run, naming it.

cart requires github.com/google/uuid: its `RUN go mod download` fetches it through the
stack's Go module proxy, the one thing a build step can reach, and its host-side checks
find it downloaded; every other module is standard-library only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import git
import pytest

from seamline.adapters.git_repo import seed_bare_remote
from seamline.config.project import PROJECT_ROOT
from seamline.config.settings import Settings
from seamline.stack.signing_key import SigningKey
from seamline.tools.pins import locate
from tests.integration.conftest import run_logs, seamline
from tests.integration.test_buildkit_builder import buildkit  # noqa: F401 (fixture)
from tests.integration.test_trust_boundaries import commit_change

WILD = PROJECT_ROOT / "tests" / "fixtures" / "wild-repo"
SERVICES = ["cart", "checkout", "inventory", "email-sender"]
STAGING = "deploy/overlays/staging"
# A new errcheck finding in cart (an unchecked Sync), used so `unused` stays quiet.
NEW_FINDING = (
    'package main\n\nimport "os"\n\n'
    "// syncLog flushes the log to disk before the cart exits.\n"
    "func syncLog() { os.Stdout.Sync() }\n\nvar _ = syncLog\n"
)


def _run(remote: Path) -> tuple[int, dict[str, Any], str]:
    """`seamline run --local` with the BuildKit builder, as test_buildkit_builder runs it."""
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote), SEAMLINE_IMAGE_BUILDER="buildkit")
    result = seamline("run", "--repo", str(remote), "--json", "--local", env=env)
    payload = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, payload, result.stderr


def reviewed(text: str, prefix: str) -> str:
    """The edits a reviewer makes to what init wrote, and only those.

    1. Repositories of this test's own (``prefix``) instead of ``acme/shop``, so what a run
       pushes is told apart from earlier runs; a team sets its own path here.
    2. The services with long-standing findings report them instead of blocking on day one,
       as the comment init writes suggests: cart's lint (errcheck), inventory's vet and lint
       (copylocks; golangci-lint's standard set runs govet too).
    """
    text = text.replace('repository = "acme/shop/', f'repository = "{prefix}/')
    for name, checks in (("cart", '["vet", "test"]'), ("inventory", '["test"]')):
        line = f'name = "{name}"\n'
        assert line in text
        text = text.replace(line, f"{line}blocking_checks = {checks}\n")
    return text


def _tightened(text: str) -> str:
    """After the first release: lint blocks cart again, on findings newer than the source
    commit the overlay records for its image (the debt predates it)."""
    text = text.replace("# lint_new_findings_only = true", "lint_new_findings_only = true")
    return text.replace('name = "cart"\nblocking_checks = ["vet", "test"]\n', 'name = "cart"\n')


@pytest.fixture(scope="module")
def adopted(
    buildkit: Settings,  # noqa: F811 (the imported fixture)
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, str, dict[str, Any]]:
    """The fixture copied, `seamline init` run on it, its proposal reviewed, and the result
    seeded as the GitOps remote: (remote, the reviewed seamline.toml, init's JSON)."""
    folder = tmp_path_factory.mktemp("wild")
    source = folder / "source"
    shutil.copytree(WILD, source)
    result = seamline("init", str(source), "--json")
    assert result.returncode == 0, result.stderr
    proposal: dict[str, Any] = json.loads(result.stdout)
    text = reviewed((source / "seamline.toml").read_text(), f"wild-{uuid.uuid4().hex[:10]}")
    (source / "seamline.toml").write_text(text)
    remote = folder / "wild.git"
    seed_bare_remote(source, remote, branch="main", message="Adopt seamline")
    return remote, text, proposal


def test_init_proposes_the_stack_s_stand_ins_and_the_fixture_s_shape(
    adopted: tuple[Path, str, dict[str, Any]], settings: Settings
) -> None:
    _, text, proposal = adopted
    assert [s["name"] for s in proposal["services"]] == SERVICES
    assert all(s["matched"] for s in proposal["services"])
    assert (proposal["overlay_root"], proposal["default_overlay"]) == (
        "deploy/overlays",
        "staging",
    )
    mirror = f"{settings.registry}/mirror"
    assert set(proposal["base_images"]) == {"golang", "gcr.io/distroless/static"}
    assert proposal["base_images"]["gcr.io/distroless/static"] == (
        f"{mirror}/distroless/static:nonroot"
    )
    assert proposal["upstream_bases"] == []
    assert "# lint_new_findings_only = true" in text


@pytest.fixture(scope="module")
def first_run(adopted: tuple[Path, str, dict[str, Any]]) -> tuple[int, dict[str, Any], str]:
    return _run(adopted[0])


def test_the_adopted_repository_releases_green_with_its_debt_reported(
    adopted: tuple[Path, str, dict[str, Any]],
    first_run: tuple[int, dict[str, Any], str],
    buildkit: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    remote = adopted[0]
    code, report, stderr = first_run
    assert code == 0, stderr
    assert report["state"] == "Completed" and report["errors"] == []
    assert report["overlay"] == "staging" and report["commit"]
    services = {s["name"]: s for s in report["services"]}
    assert sorted(services) == sorted(SERVICES)
    key = SigningKey(buildkit)
    for service in services.values():
        assert service["gate"] == "passed" and service["signed"], service
        verified = subprocess.run(
            [
                str(locate("cosign", buildkit.tools_dir)),
                "verify",
                "--key",
                str(key.public_key),
                "--insecure-ignore-tlog=true",
                "--allow-http-registry",
                f"{service['image']}@{service['digest']}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stderr

    # The debt is in the JSON, not blocking: cart's errcheck, inventory's copylocks.
    cart = "\n".join(services["cart"]["reported"])
    assert "golangci-lint failed (does not block)" in cart and "errcheck" in cart
    assert "main.go:31" in cart
    inventory = "\n".join(services["inventory"]["reported"])
    assert "go vet failed (does not block)" in inventory
    assert "passes lock by value" in inventory  # go vet's copylocks, in its own words
    assert "golangci-lint failed (does not block)" in inventory  # govet, through the linter
    assert services["checkout"]["reported"] == services["email-sender"]["reported"] == []

    # The BuildKit-only Dockerfile built offline: its # syntax= left to the built-in frontend.
    logs = run_logs(buildkit, report["flow_run_id"], expect="taken out of the build copy")
    assert "checkout: '# syntax=docker/dockerfile:1' taken out of the build copy" in logs
    assert "FROM golang:1.26.5-alpine@sha256:" in logs  # the substitution is logged

    # The overlay, rendered as a user would: every image (the component's too) by digest.
    clone = tmp_path / "clone"
    git.Repo.clone_from(str(remote), clone)
    rendered = subprocess.run(
        [str(locate("kustomize", buildkit.tools_dir)), "build", str(clone / STAGING)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for service in services.values():
        assert service["image"].startswith(f"{buildkit.registry}/")
        assert f"image: {service['image']}@{service['digest']}" in rendered
    assert "ghcr.io/" not in rendered
    production = (clone / "deploy/overlays/production/kustomization.yaml").read_text()
    assert "newTag: v1.2.2" in production  # only the default overlay moves


def test_a_new_lint_finding_in_cart_fails_the_next_run_naming_it(
    adopted: tuple[Path, str, dict[str, Any]],
    first_run: tuple[int, dict[str, Any], str],
    tmp_path: Path,
) -> None:
    remote, text, _ = adopted
    assert first_run[0] == 0, first_run[2]
    commit_change(remote, tmp_path, "seamline.toml", _tightened(text))
    commit_change(remote, tmp_path, "services/cart/synclog.go", NEW_FINDING)
    code, report, stderr = _run(remote)
    assert code == 1, stderr
    assert report["commit"] is None  # nothing released
    [error] = [e for e in report["errors"] if e["stage"] == "build-test"]
    assert error["service"] == "cart" and error["kind"] == "gate"
    blocking, *reported = error["message"].splitlines()
    assert "golangci-lint failed: new since" in blocking and "errcheck" in blocking
    assert "synclog.go:6" in blocking and "main.go:31" not in blocking
    assert any("main.go:31" in line for line in reported)  # the old debt, still shown
