"""A service whose Dockerfile names upstream bases pinned by digest, as third-party
repositories do, built offline through [pipeline.base_images] on the real stack: green,
with both references in the signed provenance; unmapped, refused with exit 2 before
anything is built."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from seamline.adapters.git_repo import seed_bare_remote
from seamline.adapters.go_toolchain import GoToolchain
from seamline.adapters.registry import RegistryClient
from seamline.bases.stand_ins import default_mapping
from seamline.config.project import PROJECT_ROOT
from seamline.config.settings import Settings
from seamline.stack.signing_key import SigningKey
from seamline.tools.pins import locate
from seamline.validate.image_ref import ImageRef
from tests.integration.conftest import add_service, seamline

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
UPSTREAM = PROJECT_ROOT / "tests" / "fixtures" / "upstream-bases-service"
PIN = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
GOLANG = f"golang:1.26.5-alpine@{PIN}"
DISTROLESS = "gcr.io/distroless/static:nonroot"


def _source(tmp_path: Path) -> tuple[Path, str]:
    """A copy of the Bookstore (which carries the default [pipeline.base_images]) with
    the upstream-bases service added under a repository of its own."""
    source = tmp_path / f"src-{uuid.uuid4().hex[:8]}"
    shutil.copytree(BOOKSTORE, source)
    repository = f"bases-{uuid.uuid4().hex[:10]}/upstream"
    add_service(source, "upstream", UPSTREAM, repository)
    # A change of its own, so a cached build of another session is not what is checked.
    (source / "app" / "upstream" / "nonce.go").write_text(f"package main\n\n// {uuid.uuid4()}\n")
    return source, repository


def _run(source: Path, tmp_path: Path) -> tuple[int, dict[str, Any], str]:
    remote = tmp_path / f"remote-{uuid.uuid4().hex[:8]}.git"
    seed_bare_remote(source, remote, branch="main", message="seed")
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    result = seamline("run", "--repo", str(remote), "--json", env=env)
    payload = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, payload, result.stderr


def _provenance(settings: Settings, reference: str) -> dict[str, Any]:
    """The SLSA predicate attested for ``reference``, as `cosign verify-attestation`
    hands it to anyone who checks the image."""
    verified = subprocess.run(
        [
            str(locate("cosign", settings.tools_dir)),
            "verify-attestation",
            "--key",
            str(SigningKey(settings).public_key),
            "--type",
            "slsaprovenance1",
            "--insecure-ignore-tlog=true",
            "--allow-http-registry",
            reference,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    envelope = json.loads(verified.stdout.splitlines()[0])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    predicate: dict[str, Any] = statement["predicate"]
    return predicate


def test_upstream_bases_build_offline_from_their_mirrors(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    source, repository = _source(tmp_path)
    dockerfile = (source / "app" / "upstream" / "Dockerfile").read_text()
    code, payload, stderr = _run(source, tmp_path)
    assert code == 0, stderr
    service = next(s for s in payload["services"] if s["name"] == "upstream")
    assert service["gate"] == "passed" and service["signed"], service
    assert service["image"] == f"{settings.registry}/{repository}"
    # The repository's Dockerfile is what the run checked out, untouched.
    assert f"FROM --platform=$BUILDPLATFORM {GOLANG} AS builder" in dockerfile

    mapping = default_mapping(settings.registry, GoToolchain.located(settings.tools_dir).version())
    golang_mirror = mapping["golang"]
    static_mirror = mapping["gcr.io/distroless/static"]
    registry = RegistryClient.for_url(settings.registry_url)

    def digest_of(reference: str) -> dict[str, str]:
        ref = ImageRef.parse(reference)
        found = registry.manifest_digest(ref.repository_in(settings.registry), ref.tag_or_latest)
        assert found, reference
        return {"sha256": found.removeprefix("sha256:")}

    predicate = _provenance(settings, f"{service['image']}@{service['digest']}")
    images = {d["uri"]: d for d in predicate["buildDefinition"]["resolvedDependencies"][1:]}
    assert images[f"oci://{GOLANG}"] == {
        "uri": f"oci://{GOLANG}",
        "digest": {"sha256": PIN.removeprefix("sha256:")},
        "annotations": {"substitutedBy": golang_mirror},
    }
    assert images[f"oci://{golang_mirror}"] == {
        "uri": f"oci://{golang_mirror}",
        "digest": digest_of(golang_mirror),
        "annotations": {"substitutes": GOLANG},
    }
    assert images[f"oci://{DISTROLESS}"] == {
        "uri": f"oci://{DISTROLESS}",
        "annotations": {"substitutedBy": static_mirror},
    }
    assert images[f"oci://{static_mirror}"] == {
        "uri": f"oci://{static_mirror}",
        "digest": digest_of(static_mirror),
        "annotations": {"substitutes": DISTROLESS},
    }


def test_an_unmapped_upstream_base_is_refused_before_the_build(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    source, repository = _source(tmp_path)
    dockerfile = source / "app" / "upstream" / "Dockerfile"
    unmapped = "gcr.io/distroless/base-debian12:nonroot"
    dockerfile.write_text(dockerfile.read_text().replace(DISTROLESS, unmapped))
    started = time.monotonic()
    code, payload, stderr = _run(source, tmp_path)
    assert code == 2, stderr
    assert payload["exit_code"] == 2
    assert f"upstream: FROM {unmapped} is not mirrored" in payload["error"], payload
    hint = payload["hint"]
    assert "[pipeline.base_images] in seamline.toml" in hint
    assert (
        f'"gcr.io/distroless/base-debian12:nonroot" = '
        f'"{settings.registry}/mirror/distroless/base-debian12:nonroot"'
    ) in hint
    assert time.monotonic() - started < 120  # the preflight, not a build
    tags = httpx.get(f"{settings.registry_url}/v2/{repository}/tags/list", timeout=10)
    assert tags.status_code == 404 or not tags.json().get("tags")
