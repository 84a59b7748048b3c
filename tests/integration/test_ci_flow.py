"""`seamline run` end to end on the real stack, checked the way a user would check it."""

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

from seamline.adapters.git_repo import AUTHOR, seed_bare_remote
from seamline.adapters.registry import RegistryClient
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.stack.signing_key import SigningKey
from seamline.tools.pins import locate
from tests.integration.conftest import VULNERABLE, add_service, seamline

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
SERVICES = ["catalog", "orders", "payments-worker", "storefront"]


def run(remote: Path, *args: str, in_process: bool = False) -> tuple[int, dict[str, Any], str]:
    """`seamline run`, through the stack's deployment unless ``in_process``."""
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    local = ["--local"] if in_process else []
    result = seamline("run", "--repo", str(remote), "--json", *local, *args, env=env)
    assert result.stdout.count("\n{") == 0, "exactly one JSON object on stdout"
    return result.returncode, json.loads(result.stdout), result.stderr


def remote_log(remote: Path) -> list[git.Commit]:
    return list(git.Repo(remote).iter_commits("main"))


def overlay_at_head(remote: Path, overlay: str = "dev") -> str:
    repo = git.Repo(remote)
    blob = repo.commit("main").tree / f"kustomize/overlays/{overlay}/kustomization.yaml"
    return str(blob.data_stream.read().decode())


@pytest.fixture(scope="module")
def bookstore_remote(stack_up: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    remote = tmp_path_factory.mktemp("gitops") / "bookstore.git"
    seed_bare_remote(BOOKSTORE, remote, branch="main", message="Seed Bookstore")
    return remote


@pytest.fixture(scope="module")
def first_run(bookstore_remote: Path) -> tuple[int, dict[str, Any], str]:
    return run(bookstore_remote)


def test_clean_run_commits_four_verified_digests(
    first_run: tuple[int, dict[str, Any], str],
    bookstore_remote: Path,
    settings: Settings,
    tmp_path: Path,
) -> None:
    code, report, stderr = first_run
    assert code == 0, stderr
    assert report["state"] == "Completed" and report["errors"] == []
    assert report["event"] == "push" and report["overlay"] == "dev"
    head = remote_log(bookstore_remote)[0]
    assert report["commit"] == head.hexsha
    kustomization = overlay_at_head(bookstore_remote)
    registry = RegistryClient.for_url(settings.registry_url)
    key = SigningKey(settings)
    for service in report["services"]:
        assert service["gate"] == "passed" and service["signed"]
        assert service["findings"] == {
            s: 0 for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
        }
        digest = service["digest"]
        assert f"digest: {digest}" in kustomization
        assert digest in head.message
        repository = service["image"].removeprefix(settings.registry + "/")
        assert registry.manifest_digest(repository, digest) == digest
        verified = subprocess.run(
            [
                str(locate("cosign", settings.tools_dir)),
                "verify",
                "--key",
                str(key.public_key),
                "--insecure-ignore-tlog=true",
                "--allow-http-registry",
                f"{service['image']}@{digest}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stderr
        # provenance and the scan gate's scan (vuln) at signing, then the SBOM
        assert [a.partition(":")[0] for a in service["attestations"]] == [
            "slsaprovenance1",
            "vuln",
            "spdxjson",
        ]
        assert Path(service["sbom"]).is_file()
    clone = tmp_path / "clone"
    git.Repo.clone_from(str(bookstore_remote), clone)
    rendered = subprocess.run(
        [
            str(locate("kustomize", settings.tools_dir)),
            "build",
            str(clone / "kustomize" / "overlays" / "dev"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for service in report["services"]:
        assert f"image: {service['image']}@{service['digest']}" in rendered


def test_rerun_commits_nothing_and_is_cached(
    first_run: tuple[int, dict[str, Any], str], bookstore_remote: Path
) -> None:
    before = remote_log(bookstore_remote)[0].hexsha
    code, report, stderr = run(bookstore_remote)
    assert code == 0, stderr
    assert report["commit"] is None
    assert remote_log(bookstore_remote)[0].hexsha == before
    assert all(s["cached"] for s in report["services"]), report["services"]
    first = {s["name"]: s["digest"] for s in first_run[1]["services"]}
    assert {s["name"]: s["digest"] for s in report["services"]} == first


def test_one_file_change_changes_one_digest(
    first_run: tuple[int, dict[str, Any], str], bookstore_remote: Path, tmp_path: Path
) -> None:
    before = {s["name"]: s["digest"] for s in run(bookstore_remote)[1]["services"]}
    work = git.Repo.clone_from(str(bookstore_remote), tmp_path / "work")
    page = tmp_path / "work" / "app" / "storefront" / "static" / "index.html"
    # unique per test run: the caches outlive the test session
    page.write_text(page.read_text().replace("</body>", f"<!-- {uuid.uuid4()} --></body>"))
    work.git.add(A=True)
    work.index.commit("storefront: new copy", author=AUTHOR, committer=AUTHOR)
    work.remote("origin").push("HEAD:refs/heads/main").raise_if_error()

    code, report, stderr = run(bookstore_remote)
    assert code == 0, stderr
    after = {s["name"]: s["digest"] for s in report["services"]}
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"storefront"}
    cached = {s["name"] for s in report["services"] if s["cached"]}
    assert cached == {"catalog", "orders", "payments-worker"}
    head = remote_log(bookstore_remote)[0]
    assert report["commit"] == head.hexsha
    diff = head.parents[0].diff(head, create_patch=True)
    assert sorted(d.a_path for d in diff) == [
        "kustomize/overlays/dev/kustomization.yaml",
        "kustomize/overlays/dev/seamline-pins.json",
    ]
    kustomization = next(d for d in diff if d.a_path.endswith("kustomization.yaml"))
    patch = kustomization.diff.decode().splitlines()
    added = [line[1:].strip(" -") for line in patch if line.startswith("+")]
    removed = [line[1:].strip(" -") for line in patch if line.startswith("-")]
    assert added == [f"digest: {after['storefront']}"]
    assert removed == [f"digest: {before['storefront']}"]
    pins = json.loads((head.tree / "kustomize/overlays/dev/seamline-pins.json").data_stream.read())
    storefront = pins["images"]["bookstore/storefront"]
    assert storefront["source_commit"] == head.parents[0].hexsha  # the commit it was built from
    assert storefront["reference"].endswith(after["storefront"])


def test_pull_request_pushes_signs_and_commits_nothing(
    first_run: tuple[int, dict[str, Any], str],
    bookstore_remote: Path,
    settings: Settings,
    tmp_path: Path,
) -> None:
    work = git.Repo.clone_from(str(bookstore_remote), tmp_path / "work")
    work.git.checkout("-b", "feature")
    main_go = tmp_path / "work" / "app" / "catalog" / "main.go"
    main_go.write_text(main_go.read_text() + f"\n// feature {uuid.uuid4()}\n")
    work.git.add(A=True)
    feature = work.index.commit("catalog: feature", author=AUTHOR, committer=AUTHOR)
    work.remote("origin").push("HEAD:refs/heads/feature").raise_if_error()
    head_before = remote_log(bookstore_remote)[0].hexsha

    code, report, stderr = run(bookstore_remote, "--ref", "feature", "--event", "pull_request")
    assert code == 0, stderr
    assert report["commit"] is None
    assert remote_log(bookstore_remote)[0].hexsha == head_before
    registry = RegistryClient.for_url(settings.registry_url)
    for service in report["services"]:
        assert service["digest"] is None and not service["signed"]
        assert service["attestations"] == [] and service["sbom"] is None
        assert service["gate"] == "passed"
        # nothing pushed: the registry has no tag of the pull request's commit
        repository = service["image"].removeprefix(settings.registry + "/")
        assert registry.manifest_digest(repository, feature.hexsha[:12]) is None


@pytest.fixture(scope="module")
def vulnerable_remote(stack_up: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("vulnerable-src") / "repo"
    shutil.copytree(BOOKSTORE, source)
    add_service(source, "vulnerable", VULNERABLE, "fixtures/vulnerable-line")
    remote = tmp_path_factory.mktemp("vulnerable-gitops") / "repo.git"
    seed_bare_remote(source, remote, branch="main", message="Seed with a vulnerable service")
    return remote


def test_vulnerable_service_fails_the_gate_and_nothing_lands(
    vulnerable_remote: Path, settings: Settings
) -> None:
    head_before = remote_log(vulnerable_remote)[0].hexsha
    code, report, stderr = run(vulnerable_remote, in_process=True)  # the path without an executor
    assert code == 1, stderr
    assert report["state"] == "Failed" and report["commit"] is None
    assert remote_log(vulnerable_remote)[0].hexsha == head_before
    by_name = {s["name"]: s for s in report["services"]}
    vulnerable = by_name["vulnerable"]
    assert vulnerable["gate"] == "failed" and not vulnerable["signed"]
    assert vulnerable["findings"]["HIGH"] >= 2
    messages = " ".join(e["message"] for e in report["errors"])
    assert "CVE-2021-38561" in messages and "golang.org/x/text" in messages
    assert "0.3.7" in messages
    assert any(e["stage"] == "bump" for e in report["errors"])
    assert "CVE-2021-38561" in stderr
    # push-then-scan (the default) pushed the image before the scan failed it: it is in
    # the registry by digest, and unsigned
    assert vulnerable["digest"].startswith("sha256:"), vulnerable
    cosign = SigningKey(settings).cosign()
    assert not cosign.is_signed(f"{vulnerable['image']}@{vulnerable['digest']}")
    for name in SERVICES:
        assert by_name[name]["gate"] == "passed"
