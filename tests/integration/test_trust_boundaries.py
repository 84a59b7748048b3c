"""The CI flow against hostile or careless input, on the real stack: nothing outside the
repository, nothing before validation, no secret within reach of repository code, no
overlay moving backwards. Each case is checked as a user would: exit code, what the
registry holds, what the GitOps remote's history says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import git
import httpx
import pytest

from seamline.adapters.git_repo import AUTHOR, seed_bare_remote
from seamline.adapters.go_toolchain import go_test_text
from seamline.adapters.registry import RegistryClient
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.orchestration.api_access import auth_file, prefect_environment
from seamline.stack.signing_key import SigningKey
from tests.integration.conftest import add_service, run_logs, seamline

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
SNOOP = PROJECT_ROOT / "tests" / "fixtures" / "snoop-service"
DEV = "kustomize/overlays/dev/kustomization.yaml"


def run(remote: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    result = seamline("run", "--repo", str(remote), "--json", *args, env=env)
    payload = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, payload, result.stderr


def head(remote: Path) -> str:
    return str(git.Repo(remote).commit("main").hexsha)


def overlay_text(remote: Path, commit: str = "main") -> str:
    blob = git.Repo(remote).commit(commit).tree / DEV
    return str(blob.data_stream.read().decode())


def tags_of(settings: Settings, repository: str) -> list[str]:
    """The tags a repository holds in the registry; [] when it was never pushed to."""
    response = httpx.get(f"{settings.registry_url}/v2/{repository}/tags/list", timeout=10)
    if response.status_code == 404:
        return []
    return list(response.json().get("tags") or [])


def repo_copy(tmp_path: Path, *, unique: bool = True) -> tuple[Path, str]:
    """A copy of the Bookstore whose images go to repositories of their own (so what a run
    pushes can be told apart), and that prefix."""
    source = tmp_path / f"src-{uuid.uuid4().hex[:8]}"
    shutil.copytree(BOOKSTORE, source)
    prefix = f"trust-{uuid.uuid4().hex[:10]}" if unique else "bookstore"
    config = source / "seamline.toml"
    config.write_text(
        config.read_text().replace('repository = "bookstore/', f'repository = "{prefix}/')
    )
    return source, prefix


def seed(source: Path, tmp_path: Path) -> Path:
    remote = tmp_path / f"remote-{uuid.uuid4().hex[:8]}.git"
    seed_bare_remote(source, remote, branch="main", message="seed")
    return remote


def commit_change(
    remote: Path, tmp_path: Path, path: str, text: str, *, branch: str = "main"
) -> str:
    work = tmp_path / f"work-{uuid.uuid4().hex[:8]}"
    repo = git.Repo.clone_from(str(remote), work)
    if branch != "main":
        repo.git.checkout("-b", branch)
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    repo.git.add(A=True)
    repo.index.commit(f"change {path}", author=AUTHOR, committer=AUTHOR)
    repo.remote("origin").push(f"HEAD:refs/heads/{branch}").raise_if_error()
    return str(repo.head.commit.hexsha)


def go_comment(service: str) -> tuple[str, str]:
    """A new file that changes a service's source (and so its digest)."""
    return f"app/{service}/nonce.go", f"package main\n\n// {uuid.uuid4()}\n"


# 1. Every path stays inside the repository --------------------------------------------


@pytest.mark.parametrize("overlay", ["../base", "/tmp/elsewhere", "dev/../../base"])
def test_overlay_is_a_name_not_a_path(
    stack_up: dict[str, Any], tmp_path: Path, overlay: str
) -> None:
    elsewhere = Path("/tmp/elsewhere")
    elsewhere.mkdir(exist_ok=True)
    (elsewhere / "kustomization.yaml").write_text("resources: []\n")
    remote = seed(repo_copy(tmp_path, unique=False)[0], tmp_path)
    before = head(remote)
    started = time.monotonic()
    code, payload, stderr = run(remote, "--overlay", overlay)
    assert code == 2, stderr
    assert repr(overlay) in payload["error"] and "lowercase" in payload["error"]
    assert time.monotonic() - started < 20  # refused before Prefect, before any build
    assert head(remote) == before
    assert (elsewhere / "kustomization.yaml").read_text() == "resources: []\n"


def test_a_context_outside_the_repository_is_refused(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    # The checkout lives in <state>/workspaces/<commit>: ../../secrets is the signing key.
    source, prefix = repo_copy(tmp_path)
    config = source / "seamline.toml"
    config.write_text(
        config.read_text().replace('context = "app/orders"', 'context = "../../secrets"')
    )
    remote = seed(source, tmp_path)
    code, payload, stderr = run(remote)
    assert code == 2, stderr
    assert "services.orders.context" in payload["error"] and "outside" in payload["error"]
    assert "inside" in payload["hint"]
    assert (
        tags_of(settings, f"{prefix}/orders") == [] and tags_of(settings, f"{prefix}/catalog") == []
    )


def test_a_symlink_out_of_the_repository_is_refused(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    source, prefix = repo_copy(tmp_path)
    (source / "app" / "orders" / "Dockerfile").unlink()
    (source / "app" / "orders" / "Dockerfile").symlink_to(SigningKey(settings).password_file)
    remote = seed(source, tmp_path)
    code, payload, stderr = run(remote)
    assert code == 2, stderr
    assert "services.orders.dockerfile" in payload["error"]
    password = SigningKey(settings).password_file.read_text().strip()
    assert password not in stderr and password not in json.dumps(payload)
    assert tags_of(settings, f"{prefix}/catalog") == []


# 2. Validate everything before acting --------------------------------------------------


def _with_a_missing_overlay(source: Path) -> None:
    config = source / "seamline.toml"
    config.write_text(
        config.read_text().replace(
            "[[services]]", '[pipeline.branch_overlays]\nmain = "qa"\n\n[[services]]', 1
        )
    )


def _with_unused_image(source: Path) -> None:
    config = source / "seamline.toml"
    config.write_text(
        config.read_text().replace('image = "bookstore/orders"', 'image = "bookstore/ordrs"')
    )


def _with_bad_repository(source: Path) -> None:
    config = source / "seamline.toml"
    config.write_text(config.read_text().replace('repository = "trust-', 'repository = "Trust-', 1))


@pytest.mark.parametrize(
    ("change", "args", "says"),
    [
        (_with_a_missing_overlay, (), "overlay 'qa' does not exist"),
        (_with_unused_image, (), "no manifest uses the image name(s) bookstore/ordrs"),
        (_with_bad_repository, (), "is not valid"),
        (None, ("--overlay", "staging"), "may bump only 'dev'"),
    ],
)
def test_usage_problems_stop_the_run_before_anything_is_pushed(
    stack_up: dict[str, Any],
    settings: Settings,
    tmp_path: Path,
    change: Any,
    args: tuple[str, ...],
    says: str,
) -> None:
    source, prefix = repo_copy(tmp_path)
    if change is not None:
        change(source)
    remote = seed(source, tmp_path)
    before = head(remote)
    code, payload, stderr = run(remote, *args)
    assert code == 2, stderr
    assert says in payload["error"], payload
    assert head(remote) == before
    for service in ("catalog", "orders", "payments-worker", "storefront"):
        assert tags_of(settings, f"{prefix}/{service}") == [], service


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--ref=--orphan=x",), "not a ref name or commit id"),
        (("--ref", "no-such-branch"), "no branch, tag or commit"),
        (("--repo", "/does/not/exist"), "neither a URL nor an existing folder"),
        (("--repo", "ext::sh -c touch% /tmp/pwned"), "neither a URL"),
    ],
)
def test_bad_refs_and_repositories_are_usage_errors_at_once(
    stack_up: dict[str, Any], tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    remote = seed(repo_copy(tmp_path, unique=False)[0], tmp_path)
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    argv = ["run", "--json", *args]
    if "--repo" not in args:
        argv += ["--repo", str(remote)]
    started = time.monotonic()
    result = seamline(*argv, env=env)
    assert result.returncode == 2, result.stderr
    assert says in json.loads(result.stdout)["error"]
    assert time.monotonic() - started < 30  # no retries of a usage error
    assert not Path("/tmp/pwned").exists()


def test_a_dockerfile_that_fails_on_its_own_content_is_a_gate_failure(
    stack_up: dict[str, Any], tmp_path: Path
) -> None:
    source, _ = repo_copy(tmp_path)
    dockerfile = source / "app" / "orders" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("WORKDIR /src", "WORKDIR /src\nRUN false"))
    remote = seed(source, tmp_path)
    before = head(remote)
    code, payload, stderr = run(remote)
    assert code == 1, stderr
    image_errors = [e for e in payload["errors"] if e["stage"] == "image"]
    assert image_errors and image_errors[0]["service"] == "orders", payload["errors"]
    message = image_errors[0]["message"]
    # the builder's own words: BuildKit's (the default), or the Docker Engine's
    assert "did not complete successfully" in message or "returned a non-zero code" in message
    assert head(remote) == before


def test_a_push_to_an_unmapped_branch_builds_and_scans_and_bumps_nothing(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    source, prefix = repo_copy(tmp_path)
    remote = seed(source, tmp_path)
    path, text = go_comment("catalog")
    commit_change(remote, tmp_path, path, text, branch="feature")
    before = head(remote)
    code, payload, stderr = run(remote, "--ref", "feature")
    assert code == 0, stderr
    assert payload["overlay"] is None and payload["commit"] is None
    assert all(s["gate"] == "passed" and s["digest"] is None for s in payload["services"])
    assert head(remote) == before
    assert tags_of(settings, f"{prefix}/catalog") == []


def test_a_branch_cannot_map_itself_to_an_overlay(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    source, prefix = repo_copy(tmp_path)
    remote = seed(source, tmp_path)
    config = (
        (source / "seamline.toml")
        .read_text()
        .replace("[[services]]", '[pipeline.branch_overlays]\nsneaky = "prod"\n\n[[services]]', 1)
    )
    commit_change(remote, tmp_path, "seamline.toml", config, branch="sneaky")
    before = head(remote)
    code, payload, stderr = run(remote, "--ref", "sneaky")
    assert code == 0, stderr
    assert payload["overlay"] is None and payload["commit"] is None  # the default branch decides
    assert head(remote) == before
    assert tags_of(settings, f"{prefix}/catalog") == []
    code, payload, _ = run(remote, "--ref", "sneaky", "--overlay", "prod")
    assert code == 2 and "may bump no overlay" in payload["error"]


# 3. Repository code never reaches signing material or the control plane ----------------


def test_repository_code_cannot_reach_secrets_sockets_or_the_control_plane(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    source, _ = repo_copy(tmp_path)
    add_service(source, "snoop", SNOOP, f"trust-snoop-{uuid.uuid4().hex[:8]}")
    key = SigningKey(settings)
    targets = {
        "files": [str(key.key), str(key.password_file), str(auth_file(settings))],
        "tcp": [
            f"{settings.prefect_host}:{settings.prefect_port}",
            f"{settings.registry_host}:{settings.registry_port}",
        ],
        "unix": [settings.docker_host.removeprefix("unix://")],
        # The test points one of its outputs at the signing key: the host must not read it.
        "plant": str(key.key),
    }
    for path in targets["files"] + targets["unix"]:
        assert Path(path).exists(), path  # the attempts are real: each target is there
    (source / "app" / "snoop" / "targets.json").write_text(json.dumps(targets))
    (source / "app" / "snoop" / "nonce.go").write_text(f"package main\n\n// {uuid.uuid4()}\n")
    remote = seed(source, tmp_path)
    code, payload, stderr = run(remote)
    assert code == 0, stderr
    snoop = next(s for s in payload["services"] if s["name"] == "snoop")
    assert snoop["signed"] and snoop["gate"] == "passed"
    assert payload["commit"] == head(remote)
    evidence = settings.state_dir / "evidence" / payload["flow_run_id"] / "snoop" / "checks"
    output = go_test_text((evidence / "test.out").read_text())
    assert "LEAK" not in output
    for path in targets["files"]:
        assert f"blocked: read {path}" in output, path
    for address in targets["tcp"] + targets["unix"]:
        assert f"blocked: connect {address}" in output, address
    assert "blocked: write planted.go" in output
    assert f"planted /out/vet.out -> {key.key}" in output
    told = run_logs(settings, payload["flow_run_id"]) + stderr + json.dumps(payload)
    assert "PRIVATE KEY" not in told and key.key.read_text().splitlines()[1] not in told


# 4. An overlay never moves backwards and never loses an update -------------------------


def test_rerunning_an_older_commit_is_refused_as_stale(
    stack_up: dict[str, Any], tmp_path: Path
) -> None:
    remote = seed(repo_copy(tmp_path)[0], tmp_path)
    old = head(remote)
    code, first, stderr = run(remote)
    assert code == 0, stderr
    path, text = go_comment("storefront")
    commit_change(remote, tmp_path, path, text)
    code, second, stderr = run(remote)
    assert code == 0, stderr
    newer = {s["name"]: s["digest"] for s in second["services"]}
    bumped = head(remote)

    code, stale, stderr = run(remote, "--ref", old, "--branch", "main")
    assert code == 1, stderr
    message = " ".join(e["message"] for e in stale["errors"])
    assert "not moved backwards" in message and "bookstore/storefront" in message
    assert head(remote) == bumped
    assert f"digest: {newer['storefront']}" in overlay_text(remote)

    code, _, stderr = run(remote, "--ref", old, "--branch", "main", "--force")
    assert code == 0, stderr  # rolled back on purpose
    old_digest = {s["name"]: s["digest"] for s in first["services"]}["storefront"]
    assert f"digest: {old_digest}" in overlay_text(remote)


def test_unrelated_history_is_refused_unless_forced(
    stack_up: dict[str, Any], tmp_path: Path
) -> None:
    source, _ = repo_copy(tmp_path)
    remote = seed(source, tmp_path)
    code, _, stderr = run(remote)
    assert code == 0, stderr
    bumped = head(remote)
    # A force-push of unrelated history: same files, a new root commit.
    work = tmp_path / "rewritten"
    repo = git.Repo.clone_from(str(remote), work)
    repo.git.checkout("--orphan", "rewritten")
    path, text = go_comment("orders")
    (work / path).write_text(text)
    repo.git.add(A=True)
    repo.index.commit("rewritten history", author=AUTHOR, committer=AUTHOR)
    repo.git.push("--force", "origin", "HEAD:refs/heads/main")

    code, payload, stderr = run(remote)
    assert code == 1, stderr
    assert "unrelated" in payload.get("error", "") + json.dumps(payload.get("errors", []))
    assert overlay_text(remote) == overlay_text(remote, bumped)

    code, payload, stderr = run(remote, "--force")
    assert code == 0, stderr
    assert payload["commit"] == head(remote)


def test_concurrent_runs_of_two_commits_both_land_and_nothing_moves_back(
    stack_up: dict[str, Any], tmp_path: Path
) -> None:
    remote = seed(repo_copy(tmp_path)[0], tmp_path)
    code, _, stderr = run(remote)
    assert code == 0, stderr
    first = commit_change(remote, tmp_path, *go_comment("catalog"))
    second = commit_change(remote, tmp_path, *go_comment("orders"))  # a child of first
    results: dict[str, tuple[int, dict[str, Any], str]] = {}

    def start(name: str, *args: str) -> threading.Thread:
        thread = threading.Thread(target=lambda: results.__setitem__(name, run(remote, *args)))
        thread.start()
        return thread

    threads = [
        start("older", "--ref", first, "--branch", "main"),
        start("newer", "--ref", second, "--branch", "main"),
    ]
    for thread in threads:
        thread.join()
    for name, (code, _, stderr) in results.items():
        assert code == 0, (name, stderr)
    newer = {s["name"]: s["digest"] for s in results["newer"][1]["services"]}
    older = {s["name"]: s["digest"] for s in results["older"][1]["services"]}
    assert older["catalog"] == newer["catalog"]  # one content, one digest
    final = overlay_text(remote)
    for service in ("catalog", "orders"):
        assert f"digest: {newer[service]}" in final, service
    # Along the overlay's history no image ever went back to a digest it had left.
    history = [c.hexsha for c in git.Repo(remote).iter_commits("main", paths=DEV)]
    for service in ("catalog", "orders"):
        pinned = [_digest_of(overlay_text(remote, sha), service) for sha in reversed(history)]
        changes = [d for i, d in enumerate(pinned) if i == 0 or d != pinned[i - 1]]
        assert len(changes) == len(set(changes)), (service, changes)


def _digest_of(kustomization: str, service: str) -> str | None:
    lines = kustomization.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"- name: bookstore/{service}":
            for following in lines[i + 1 : i + 4]:
                if "digest:" in following:
                    return following.split("digest:")[1].strip()
    return None


def test_two_runs_of_one_commit_build_and_sign_one_digest(
    stack_up: dict[str, Any], tmp_path: Path
) -> None:
    remote = seed(repo_copy(tmp_path)[0], tmp_path)
    commit_change(remote, tmp_path, *go_comment("payments-worker"))
    results: list[tuple[int, dict[str, Any], str]] = []
    threads = [threading.Thread(target=lambda: results.append(run(remote))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    digests = [{s["name"]: s["digest"] for s in payload["services"]} for _, payload, _ in results]
    assert digests[0] == digests[1]
    commits = [payload["commit"] for _, payload, _ in results]
    assert sorted(c is None for c in commits) == [False, True]  # one of them committed


def test_image_metadata_carries_the_commit_time_not_the_clock(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    remote = seed(repo_copy(tmp_path)[0], tmp_path)
    commit = commit_change(remote, tmp_path, *go_comment("catalog"))
    committed = git.Repo(remote).commit(commit).committed_date
    while time.time() < committed + 2:  # the clock moves on; the image's time must not follow
        time.sleep(0.1)
    code, payload, stderr = run(remote)
    assert code == 0, stderr
    catalog = next(s for s in payload["services"] if s["name"] == "catalog")
    # read from the registry, as a puller would get it
    registry = RegistryClient.for_url(settings.registry_url)
    repository = catalog["image"].removeprefix(settings.registry + "/")
    manifest = registry.manifest(repository, catalog["digest"])
    assert manifest is not None, catalog
    config = json.loads(registry.blob(repository, manifest["config"]["digest"]))
    labels = config["config"]["Labels"]
    expected = datetime.fromtimestamp(committed, UTC)
    assert labels["org.opencontainers.image.created"] == expected.isoformat(timespec="seconds")
    assert labels["org.opencontainers.image.revision"] == commit
    if settings.image_builder == "buildkit":  # reproducible: the image's own time too
        assert config["created"].startswith(expected.strftime("%Y-%m-%dT%H:%M:%S")), config


# 5. Cache keys are pure ------------------------------------------------------------


def test_a_registry_blip_after_the_preflight_rebuilds_nothing(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    remote = seed(repo_copy(tmp_path)[0], tmp_path)
    code, _, stderr = run(remote)
    assert code == 0, stderr
    env = {**os.environ, **prefect_environment(settings), "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "scripts" / "registry_blip.py"), str(remote)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    states = json.loads(result.stdout.strip().splitlines()[-1])
    assert states == {"image": "Cached", "push": "Cached"}, result.stderr[-3000:]


# 6. Messages a user can act on --------------------------------------------------------


def test_a_test_that_does_not_compile_names_the_package_and_the_error(
    stack_up: dict[str, Any], tmp_path: Path
) -> None:
    source, _ = repo_copy(tmp_path)
    (source / "app" / "orders" / "broken_test.go").write_text(
        'package main\n\nimport "testing"\n\n'
        'func TestBroken(t *testing.T) { var n int = "x"; _ = n }\n'
    )
    remote = seed(source, tmp_path)
    code, payload, stderr = run(remote)
    assert code == 1, stderr
    message = next(e["message"] for e in payload["errors"] if e["stage"] == "build-test")
    assert "failed to build" in message and "broken_test.go:5" in message
    assert "go: downloading" not in message and len(message) < 4000


def test_kustomize_says_why_an_overlay_does_not_render(
    stack_up: dict[str, Any], tmp_path: Path
) -> None:
    source, _ = repo_copy(tmp_path)
    dev = source / DEV
    dev.write_text(dev.read_text().replace("../../base", "../../no-such-base"))
    remote = seed(source, tmp_path)
    code, payload, stderr = run(remote)
    assert code == 2, stderr
    assert "no-such-base" in payload["error"]  # kustomize's own words
    assert "kustomization.yaml" in payload["hint"]
