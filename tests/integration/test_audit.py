"""`seamline audit` end to end on the real stack: after a CI run releases the Bookstore into
dev, the audit admits all four images there; an overlay that pins an unsigned digest or a
tag is refused with the reason; the emitted Kyverno policy holds the stack's public key and
matches the images the overlays deploy."""

from __future__ import annotations

import fnmatch
import json
import os
import uuid
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from seamline.adapters.git_repo import AUTHOR, seed_bare_remote
from seamline.adapters.registry import RegistryClient
from seamline.config.settings import PROJECT_ROOT, Settings
from tests.integration.conftest import seamline

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
CHECKS = [
    "pinned-by-digest",
    "in-registry",
    "signature",
    "sbom-attestation",
    "provenance-attestation",
    "vulnerabilities",
]


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


def _rows(report: dict[str, Any], overlay: str) -> dict[str, dict[str, Any]]:
    (table,) = [o for o in report["overlays"] if o["overlay"] == overlay]
    return {row["image"]: row for row in table["images"]}


def _push_unsigned(settings: Settings, repository: str) -> str:
    """A small image no one signed, pushed by digest into ``repository`` (unique per run):
    its ``registry/repository@digest``."""
    client = RegistryClient.for_url(settings.registry_url)
    try:
        marker = uuid.uuid4().hex
        layer = client.push_blob(
            repository, marker.encode(), "application/vnd.oci.image.layer.v1.tar"
        )
        config = json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": client.push_blob(
                repository, config, "application/vnd.oci.image.config.v1+json"
            ).as_json(),
            "layers": [layer.as_json()],
        }
        digest = client.put_manifest(repository, f"unsigned-{marker[:12]}", manifest)
    finally:
        client.close()
    return f"{settings.registry}/{repository}@{digest}"


@pytest.fixture(scope="module")
def released(stack_up: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh GitOps remote whose dev overlay a CI run has released into."""
    remote = tmp_path_factory.mktemp("audit") / "bookstore.git"
    seed_bare_remote(BOOKSTORE, remote, branch="main", message="Seed Bookstore")
    code, report, stderr = _json(remote, "run", "--repo", str(remote), "--json")
    assert code == 0, stderr
    assert report["overlay"] == "dev" and report["commit"]
    return remote


def test_after_a_ci_run_the_audit_admits_all_four_images_in_dev(released: Path) -> None:
    dev = _images(released, "dev")
    assert len(dev) == 4 and all("@sha256:" in ref for ref in dev.values())

    code, report, stderr = _json(released, "audit", "--overlay", "dev", "--json")
    assert code == 0, stderr
    assert report["state"] == "Completed" and report["errors"] == []
    assert report["admitted"] is True
    assert report["gitops_commit"] == git.Repo(released).commit("main").hexsha
    rows = _rows(report, "dev")
    assert {row["reference"] for row in rows.values()} == set(dev.values())  # as rendered
    for row in rows.values():
        assert row["verdict"] == "admit" and row["reasons"] == [], row
        assert [c["check"] for c in row["checks"]] == CHECKS
        assert all(c["passed"] for c in row["checks"])
        assert row["digest"] == row["reference"].partition("@")[2]
    assert "overlay dev: 4 image(s), 4 admitted, 0 refused" in stderr


def test_an_unsigned_digest_or_a_tag_is_refused_with_the_reason(
    released: Path, settings: Settings, tmp_path: Path
) -> None:
    unsigned = _push_unsigned(settings, "bookstore/catalog")
    work = git.Repo.clone_from(str(released), tmp_path / "work")
    staging = tmp_path / "work" / "kustomize" / "overlays" / "staging" / "kustomization.yaml"
    data = yaml.safe_load(staging.read_text())
    for entry in data["images"]:  # catalog by an unsigned digest; the rest keep their tags
        if entry["name"] == "bookstore/catalog":
            entry.pop("newTag", None)
            entry["newName"], _, entry["digest"] = unsigned.partition("@")
    staging.write_text(yaml.safe_dump(data, sort_keys=False))
    work.git.add(A=True)
    work.index.commit("staging: catalog by an unsigned digest", author=AUTHOR, committer=AUTHOR)
    work.remote("origin").push("HEAD:refs/heads/main").raise_if_error()

    code, report, stderr = _json(released, "audit", "--overlay", "staging", "--json")
    assert code == 1, stderr
    # A refusal fails the run (a Prefect automation can notify); the report stays whole.
    assert report["state"] == "Failed" and report["admitted"] is False
    refused = sum(1 for row in _rows(report, "staging").values() if row["verdict"] == "refuse")
    (error,) = report["errors"]
    assert error["exit_code"] == 1
    assert error["error"].startswith(f"{refused} image(s) would be refused")
    assert error["error"].endswith(f": {refused} in overlay staging")
    rows = _rows(report, "staging")
    catalog = rows[f"{settings.registry}/bookstore/catalog"]
    assert catalog["reference"] == unsigned and catalog["verdict"] == "refuse"
    assert catalog["reasons"][0].startswith("signature: ")
    assert {r.partition(":")[0] for r in catalog["reasons"]} == {
        "signature",
        "sbom-attestation",
        "provenance-attestation",
    }
    orders = rows[f"{settings.registry}/bookstore/orders"]
    assert orders["verdict"] == "refuse" and orders["digest"] is None
    assert orders["reasons"] == ["pinned-by-digest: pinned by tag :0.0.0 only, not by digest"]
    assert "REFUSE" in stderr and "would be refused" in stderr

    code, everything, stderr = _json(released, "audit", "--all", "--json")
    assert code == 1, stderr
    assert everything["state"] == "Failed"
    assert f"{refused} in overlay staging" in everything["errors"][0]["error"]
    assert {o["overlay"] for o in everything["overlays"]} == {"dev", "staging", "prod"}
    assert all(r["verdict"] == "admit" for r in _rows(everything, "dev").values())


def test_an_unknown_overlay_is_a_usage_error(released: Path) -> None:
    code, report, stderr = _json(released, "audit", "--overlay", "qa", "--json")
    assert code == 2, stderr
    assert "no overlay qa" in report["errors"][0]["error"]


def test_the_emitted_policy_holds_the_stacks_public_key_and_matches_the_overlays(
    released: Path, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "policy.yaml"
    result = seamline("audit", "--emit-policy", "kyverno", "--output", str(out), env=_env(released))
    assert result.returncode == 0, result.stderr
    policy = yaml.safe_load(out.read_text())
    assert (policy["apiVersion"], policy["kind"]) == ("kyverno.io/v1", "ClusterPolicy")
    assert policy["spec"]["validationFailureAction"] == "Audit"
    (verify,) = policy["spec"]["rules"][0]["verifyImages"]
    public_key = Path(settings.signing_public_key_ref()).read_text()
    keys = verify["attestors"][0]["entries"][0]["keys"]
    assert keys["publicKeys"].strip() == public_key.strip()
    assert [a["type"] for a in verify["attestations"]] == [
        "https://spdx.dev/Document",
        "https://slsa.dev/provenance/v1",
        "https://cosign.sigstore.dev/attestation/vuln/v1",
    ]
    ((condition,),) = (group["all"] for group in verify["attestations"][2]["conditions"])
    assert condition["key"].startswith("{{ length(scanner.result.Results[].Vulnerabilities[]")
    assert (condition["operator"], condition["value"]) == ("Equals", 0)
    for attestation in verify["attestations"]:
        assert attestation["attestors"] == verify["attestors"]
    for reference in _images(released, "dev").values():
        assert any(fnmatch.fnmatchcase(reference, p) for p in verify["imageReferences"])

    enforced = seamline("audit", "--emit-policy", "kyverno", "--enforce", env=_env(released))
    assert enforced.returncode == 0, enforced.stderr
    assert yaml.safe_load(enforced.stdout)["spec"]["validationFailureAction"] == "Enforce"
